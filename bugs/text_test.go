package bugs_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/bugs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// Text that no engine can store (a NUL, invalid UTF-8) is the caller's
// mistake, named by field, in every call that takes text.
func TestTextThatCannotBeStoredIsInvalid(t *testing.T) {
	dbtest.ForEachDB(t, migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, _ := newServices(db)
		for field, edit := range map[string]func(*bugs.CreateInput, string){
			"title":        func(in *bugs.CreateInput, v string) { in.Title = v },
			"description":  func(in *bugs.CreateInput, v string) { in.Description = v },
			"errorMessage": func(in *bugs.CreateInput, v string) { in.ErrorMessage = v },
			"errorStack":   func(in *bugs.CreateInput, v string) { in.ErrorStack = v },
			"errorCode":    func(in *bugs.CreateInput, v string) { in.ErrorCode = v },
			"workspaceId":  func(in *bugs.CreateInput, v string) { in.WorkspaceID = v },
			"spaceId":      func(in *bugs.CreateInput, v string) { in.SpaceID = v },
		} {
			for _, bad := range []string{"a\x00b", "a\xffb"} {
				in := bugs.CreateInput{Title: "t", Source: bugs.SourceUserCommand}
				edit(&in, bad)
				_, err := svc.Create(ctx, in)
				requireInvalidField(t, err, field)
			}
		}
		_, _, err := svc.Auto(ctx, bugs.AutoInput{Source: bugs.SourceAutoServer, ErrorMessage: "boom\x00"})
		requireInvalidField(t, err, "errorMessage")

		rep, err := svc.Create(ctx, bugs.CreateInput{Title: "t", Source: bugs.SourceUserCommand})
		require.NoError(t, err)
		_, err = svc.Update(ctx, bugs.UpdateInput{ID: rep.ID, Title: ptr("t\x00")})
		requireInvalidField(t, err, "title")
	})
}
