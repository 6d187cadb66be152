package realtime

import (
	"encoding/json"
	"testing"

	"github.com/palisade-hq/palisade/internal/realtime/channels"
)

func FuzzParseClientMessage(f *testing.F) {
	for _, s := range []string{
		`{"event":"pusher:subscribe","data":{"channel":"presence-tenant.1.a","auth":"k:s","channel_data":"{\"user_id\":1}"}}`,
		`{"event":"pusher:subscribe","data":"{\"channel\":\"x\"}"}`,
		`{"event":"client-x","channel":"private-tenant.1.a","data":{"a":[1,2]}}`,
		`{"event":"pusher:ping","data":{}}`, `{}`, `[]`, `{"event":null}`, `{"event":"a"} x`, "\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseClientMessage(b)
		if err != nil {
			return
		}
		if m.Event == "" {
			t.Fatalf("accepted a message without event: %q", b)
		}
		if m.Data != nil && !json.Valid(m.Data) {
			t.Fatalf("accepted invalid data %q", m.Data)
		}
		if d, err := parseSubscribeData(m.Data); err == nil {
			if d.Channel == "" {
				t.Fatalf("subscribe without channel: %q", b)
			}
			_, _ = parsePresenceData(d.ChannelData)
			_ = channels.ValidChannelName(d.Channel)
			_, _ = channels.ParseTenantChannel(d.Channel)
		}
		// Whatever parsed must re-encode as a frame.
		_ = encodeFrame(serverFrame{Event: m.Event, Channel: m.Channel, Data: m.Data})
	})
}
