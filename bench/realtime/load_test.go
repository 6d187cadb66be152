package main

import "testing"

func TestSentAt(t *testing.T) {
	for _, m := range []string{
		`{"event":"tick","channel":"bench","data":"{\"t\":1234,\"p\":2}"}`,
		`{"push":{"channel":"bench","pub":{"data":{"t":1234,"p":2}}}}`,
	} {
		ts, p, ok := sentAt([]byte(m))
		if !ok || ts != 1234 || p != '2' {
			t.Errorf("sentAt(%s) = %d %c %v", m, ts, p, ok)
		}
	}
	if _, _, ok := sentAt([]byte(`{"event":"pusher:pong","data":"{}"}`)); ok {
		t.Error("found a timestamp in a pong")
	}
}
