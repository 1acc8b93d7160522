package auth_test

import (
	"context"
	"fmt"
	"log"
	"regexp"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/internal/store"
)

// A program signs a user in by email code and checks the session, with no
// HTTP involved. The mailer here captures the message instead of sending it.
func Example() {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite::memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := store.Migrate(ctx, db, auth.Migrations()); err != nil {
		log.Fatal(err)
	}
	mail := &outbox{}
	svc, err := auth.New(auth.NewBunStore(db.DB), auth.Config{Mailer: mail})
	if err != nil {
		log.Fatal(err)
	}

	if _, err := svc.RequestOTP(ctx, "alice@example.com"); err != nil {
		log.Fatal(err)
	}
	code := regexp.MustCompile(`\d{6}`).FindString(mail.msgs[0].Text)
	in, err := svc.SignInWithOTP(ctx, "alice@example.com", code)
	if err != nil {
		log.Fatal(err)
	}
	valid, _, _ := svc.VerifySession(ctx, in.Token)
	who, _ := svc.Authenticate(ctx, in.Token)
	fmt.Println(valid, who.User.Email, who.User.Role)

	// Password accounts work the same way.
	if _, err := svc.Register(ctx, auth.Registration{Username: "johndoe", Password: "securepass123"}); err != nil {
		log.Fatal(err)
	}
	login, _ := svc.Login(ctx, "johndoe", "securepass123")
	fmt.Println(login.User.Username)
	// Output:
	// true alice@example.com user
	// johndoe
}
