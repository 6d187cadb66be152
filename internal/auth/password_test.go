package auth

import (
	"strings"
	"testing"
)

func TestVerifyRoundTrip(t *testing.T) {
	h := Hasher{FastParams}
	enc, err := h.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Verify("correct horse", enc); err != nil || !ok {
		t.Fatalf("right password: ok=%v err=%v", ok, err)
	}
	if ok, err := h.Verify("wrong horse", enc); err != nil || ok {
		t.Fatalf("wrong password: ok=%v err=%v", ok, err)
	}
}

// A corrupted or hostile stored hash is an error, never a panic inside
// argon2 nor a request for unbounded memory.
func TestVerifyRefusesBadParameters(t *testing.T) {
	h := Hasher{FastParams}
	enc, err := h.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	params := "m=8192,t=1,p=1"
	if !strings.Contains(enc, params) {
		t.Fatalf("hash %q does not carry %q", enc, params)
	}
	parts := strings.Split(enc, "$")
	for name, bad := range map[string]string{
		"zero threads": strings.Replace(enc, params, "m=8192,t=1,p=0", 1),
		"zero passes":  strings.Replace(enc, params, "m=8192,t=0,p=1", 1),
		"huge memory":  strings.Replace(enc, params, "m=4294967295,t=1,p=1", 1),
		"many passes":  strings.Replace(enc, params, "m=8192,t=100000,p=1", 1),
		"short key":    strings.Join(append(parts[:5:5], "AAAA"), "$"),
		"short salt":   strings.Join([]string{parts[0], parts[1], parts[2], parts[3], "AAAA", parts[5]}, "$"),
		"not argon2id": strings.Replace(enc, "argon2id", "argon2i", 1),
		"empty":        "",
	} {
		ok, err := h.Verify("pw", bad)
		if err == nil || ok {
			t.Errorf("%s: Verify(%q) = %v, %v; want an error", name, bad, ok, err)
		}
	}
}
