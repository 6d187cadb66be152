package e2e

import (
	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/store"
)

func hasher() auth.Hasher { return auth.Hasher{P: auth.FastParams} }

func newUser(email, hash string) store.NewUser {
	return store.NewUser{Email: email, Name: "Member " + email, PasswordHash: hash}
}
