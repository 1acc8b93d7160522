package auth_test

import (
	"context"
	"testing"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/internal/dbtest"
)

// A failed login costs the same whether or not the username exists: compare
// BenchmarkLoginUnknownUser with BenchmarkLoginWrongPassword (the ratio should
// be about 1, as both run one argon2id hash).
func benchmarkLogin(b *testing.B, username string) {
	db := dbtest.Open(b, dbtest.Backends()[0].NewURL(b), auth.Migrations())
	svc, err := auth.New(auth.NewBunStore(db.DB), auth.Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := svc.Register(ctx, auth.Registration{Username: "johndoe", Password: "securepass123"}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Login(ctx, username, "wrong-password"); err == nil {
			b.Fatal("login succeeded")
		}
	}
}

func BenchmarkLoginWrongPassword(b *testing.B) { benchmarkLogin(b, "johndoe") }
func BenchmarkLoginUnknownUser(b *testing.B)   { benchmarkLogin(b, "nobody") }
