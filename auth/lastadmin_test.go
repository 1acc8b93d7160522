package auth_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/errs"
	"github.com/bugflow/bugflow/internal/dbtest"
	"github.com/bugflow/bugflow/internal/store"
)

// Admins demoting and deleting each other at the same moment never remove
// every admin: the last-admin check and the write are one atomic step. Each
// round tops the admins up to a ring of six, then every admin demotes or
// deletes the next one at once; exactly one must survive, every other
// operation must succeed, and the only refusal is the last-admin one.
func TestLastAdminSurvivesConcurrentDemotionsAndDeletions(t *testing.T) {
	dbtest.ForEachDB(t, auth.Migrations(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := newService(t, db, auth.Config{AdminKey: adminKey})
		root, err := svc.Authenticate(ctx, adminKey)
		require.NoError(t, err)

		const ringSize, rounds = 6, 25
		actors := map[string]*auth.Identity{} // admin username -> its identity
		for round := range rounds {
			for i := 0; len(actors) < ringSize; i++ {
				name := fmt.Sprintf("admin-%d-%d", round, i)
				_, key, err := svc.CreateAdmin(ctx, root, name)
				require.NoError(t, err)
				actors[name], err = svc.Authenticate(ctx, key)
				require.NoError(t, err)
			}
			var ring []string
			for name := range actors {
				ring = append(ring, name)
			}

			start := make(chan struct{})
			errc := make(chan error, len(ring))
			var wg sync.WaitGroup
			for i, name := range ring {
				target := ring[(i+1)%len(ring)]
				demote := (i+round)%2 == 0
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					if demote {
						_, _, err := svc.SetRole(ctx, actors[name], target, auth.RoleUser)
						errc <- err
						return
					}
					errc <- svc.DeleteUser(ctx, actors[name], target)
				}()
			}
			close(start)
			wg.Wait()
			close(errc)
			refused := 0
			for err := range errc {
				if err != nil {
					require.Equal(t, errs.Invalid, errs.KindOf(err), "round %d: %v", round, err)
					refused++
				}
			}

			users, err := svc.ListUsers(ctx, root)
			require.NoError(t, err)
			var left []string
			for _, u := range users {
				if u.Role == auth.RoleAdmin {
					left = append(left, u.Username)
				}
			}
			require.Len(t, left, 1, "round %d: admins left %v", round, left)
			assert.Equal(t, 1, refused, "round %d: only the last admin's removal is refused", round)
			actors = map[string]*auth.Identity{left[0]: actors[left[0]]}
		}
	})
}
