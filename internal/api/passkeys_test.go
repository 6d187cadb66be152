package api_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/palisade-hq/palisade/internal/testenv"
)

// softAuthenticator is a virtual WebAuthn authenticator: a P-256 key that
// produces real attestation ("none" format) and assertion structures, CBOR
// and all, so the server's verification runs unmodified.
type softAuthenticator struct {
	key        *ecdsa.PrivateKey
	credID     []byte
	userHandle []byte
	counter    uint32
}

func newSoftAuthenticator(t *testing.T) *softAuthenticator {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &softAuthenticator{key: k, credID: id}
}

var b64 = base64.RawURLEncoding

// cborHead encodes a CBOR major type and length.
func cborHead(major byte, n int) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n < 256:
		return []byte{major<<5 | 24, byte(n)}
	default:
		return []byte{major<<5 | 25, byte(n >> 8), byte(n)}
	}
}
func cborText(s string) []byte  { return append(cborHead(3, len(s)), s...) }
func cborBytes(b []byte) []byte { return append(cborHead(2, len(b)), b...) }

func (a *softAuthenticator) coseKey() []byte {
	raw, err := a.key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil || len(raw) != 65 {
		panic(fmt.Sprintf("P-256 public key encoding: %d bytes, %v", len(raw), err))
	}
	x, y := raw[1:33], raw[33:]
	out := []byte{0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21}
	out = append(out, cborBytes(x)...)
	out = append(out, 0x22)
	return append(out, cborBytes(y)...)
}

func (a *softAuthenticator) authData(rpID string, flags byte, attested bool) []byte {
	h := sha256.Sum256([]byte(rpID))
	a.counter++
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.counter)
	if attested {
		out = append(out, make([]byte, 16)...) // AAGUID
		out = binary.BigEndian.AppendUint16(out, uint16(len(a.credID)))
		out = append(out, a.credID...)
		out = append(out, a.coseKey()...)
	}
	return out
}

func clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

// create answers navigator.credentials.create().
func (a *softAuthenticator) create(rpID, origin, challenge string, userHandle []byte) map[string]any {
	a.userHandle = userHandle
	att := []byte{0xa3}
	att = append(att, cborText("fmt")...)
	att = append(att, cborText("none")...)
	att = append(att, cborText("attStmt")...)
	att = append(att, 0xa0)
	att = append(att, cborText("authData")...)
	att = append(att, cborBytes(a.authData(rpID, 0x45, true))...) // UP | UV | AT
	return map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData("webauthn.create", challenge, origin)),
			"attestationObject": b64.EncodeToString(att),
		},
	}
}

// get answers navigator.credentials.get(), having verified its user.
func (a *softAuthenticator) get(t *testing.T, rpID, origin, challenge string) map[string]any {
	return a.getFlags(t, rpID, origin, challenge, 0x05) // UP | UV
}

// getFlags answers navigator.credentials.get() with the given
// authenticator-data flags (0x01: user present, not verified).
func (a *softAuthenticator) getFlags(t *testing.T, rpID, origin, challenge string, flags byte) map[string]any {
	ad := a.authData(rpID, flags, false)
	cd := clientData("webauthn.get", challenge, origin)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(a.userHandle),
		},
	}
}

type publicKeyOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

// TestPasskeys: a passkey is registered with a software authenticator; it
// then serves as the second factor after a password, and as a passwordless
// login; a forged signature, a replayed response and another tenant's host
// are refused.
func TestPasskeys(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		owner, _ := s.signUp("acme", "ada@acme.test")
		s.signUp("globex", "bob@globex.test")
		const origin = "http://acme.localhost:3000"
		auth := newSoftAuthenticator(t)

		var opts publicKeyOptions
		r := owner.do("POST", "/api/mfa/passkeys/begin", nil)
		want(t, r, http.StatusOK)
		r.json(t, &opts)
		// The base domain is the RP id, but "localhost" is no registrable
		// domain, so there each tenant host is its own (see relyingParty).
		if opts.PublicKey.RP.ID != "acme.localhost" || opts.PublicKey.Challenge == "" {
			t.Fatalf("creation options %s", r.body)
		}
		handle, _ := b64.DecodeString(opts.PublicKey.User.ID)
		// A response for another origin is refused (and the ceremony is spent).
		want(t, owner.do("POST", "/api/mfa/passkeys/finish?name=Laptop", auth.create(opts.PublicKey.RP.ID, "http://globex.localhost:3000", opts.PublicKey.Challenge, handle)), http.StatusUnprocessableEntity)
		r = owner.do("POST", "/api/mfa/passkeys/begin", nil)
		r.json(t, &opts)
		want(t, owner.do("POST", "/api/mfa/passkeys/finish?name=Laptop", auth.create(opts.PublicKey.RP.ID, origin, opts.PublicKey.Challenge, handle)), http.StatusCreated)
		var st struct {
			MFA struct {
				Passkeys int `json:"passkeys"`
			} `json:"mfa"`
		}
		owner.do("GET", "/api/mfa", nil).json(t, &st)
		if st.MFA.Passkeys != 1 {
			t.Fatalf("passkeys after registration: %d", st.MFA.Passkeys)
		}

		// Second factor after a password.
		b := s.login("acme.localhost:3000", "ada@acme.test")
		want(t, b.do("GET", "/api/members", nil), http.StatusForbidden)
		r = b.do("POST", "/api/auth/mfa/passkey/begin", nil)
		want(t, r, http.StatusOK)
		r.json(t, &opts)
		forged := auth.get(t, opts.PublicKey.RPID, origin, opts.PublicKey.Challenge)
		forged["response"].(map[string]any)["signature"] = b64.EncodeToString([]byte("0D\x02 not a signature"))
		want(t, b.do("POST", "/api/auth/mfa/passkey/finish", forged), http.StatusUnprocessableEntity)
		r = b.do("POST", "/api/auth/mfa/passkey/begin", nil)
		r.json(t, &opts)
		good := auth.get(t, opts.PublicKey.RPID, origin, opts.PublicKey.Challenge)
		want(t, b.do("POST", "/api/auth/mfa/passkey/finish", good), http.StatusOK)
		want(t, b.do("GET", "/api/members", nil), http.StatusOK)
		// The same response again: the ceremony is gone.
		want(t, b.do("POST", "/api/auth/mfa/passkey/finish", good), http.StatusUnprocessableEntity)

		// Passwordless login on the tenant's host.
		c := s.browser("acme.localhost:3000")
		r = c.do("POST", "/api/auth/passkey/begin", nil)
		want(t, r, http.StatusOK)
		r.json(t, &opts)
		r = c.do("POST", "/api/auth/passkey/finish", auth.get(t, opts.PublicKey.RPID, origin, opts.PublicKey.Challenge))
		want(t, r, http.StatusOK)
		want(t, c.do("GET", "/api/members", nil), http.StatusOK) // both factors at once

		// The same passkey on another tenant's host: its owner is no member there.
		g := s.browser("globex.localhost:3000")
		r = g.do("POST", "/api/auth/passkey/begin", nil)
		r.json(t, &opts)
		want(t, g.do("POST", "/api/auth/passkey/finish", auth.get(t, opts.PublicKey.RPID, "http://globex.localhost:3000", opts.PublicKey.Challenge)), http.StatusUnprocessableEntity)
		want(t, g.do("GET", "/api/me", nil), http.StatusUnauthorized)

		// A passkey-only user has no code to type: the passkey login just
		// now is the second factor of a password change.
		want(t, c.do("POST", "/api/auth/password", map[string]any{"current_password": testPassword, "new_password": "a brand new passphrase 42"}), http.StatusOK)
		want(t, c.do("GET", "/api/members", nil), http.StatusOK)
	})
}
