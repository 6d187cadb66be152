package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/mail/smtptest"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestInvitationMailsSurviveARelayOutage: with the mail relay down, the
// three invitations (a member's, an HQ-created tenant's owner, an HQ
// operator's) are still made (201, where a failed send used to answer 500
// and leave the invitation without its mail), each with its mail waiting
// in the outbox; once the relay is back the worker's sweep sends each
// exactly once, and the link in it works.
func TestInvitationMailsSurviveARelayOutage(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		clk := withClock(s)
		relay := smtptest.Start(t)
		s.api.Outbox.Mailer = relay.Mailer("Palisade <no-reply@palisade.test>")
		owner, _ := s.signUp("acme", "ada@acme.test")
		op, _, _ := s.hqOperator("ops@palisade.test")

		relay.SetDown(true)
		want(t, owner.do("POST", "/api/invitations", map[string]string{"email": "carol@acme.test", "role": "member"}), http.StatusCreated)
		want(t, op.do("POST", "/api/hq/tenants", map[string]string{"slug": "nova", "name": "Nova Ltd", "owner_email": "nia@nova.test"}), http.StatusCreated)
		want(t, op.do("POST", "/api/hq/operators", map[string]string{"email": "new@palisade.test", "name": "Nova"}), http.StatusCreated)
		var pending int
		if err := s.st.DB().QueryRow(`SELECT COUNT(*) FROM outbox WHERE kind = 'mail' AND status = 'pending' AND attempts = 1`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending != 3 || len(relay.Messages()) != 0 {
			t.Fatalf("with the relay down: %d pending mails (want 3), %d sent (want 0)", pending, len(relay.Messages()))
		}

		relay.SetDown(false)
		clk.advance(time.Hour)  // past the back-off
		worker := *s.api.Outbox // the worker's deliverer, on the same relay
		if n, err := worker.DeliverDue(context.Background()); err != nil || n != 3 {
			t.Fatalf("sweep: %d delivered, %v; want 3", n, err)
		}
		if n, err := worker.DeliverDue(context.Background()); err != nil || n != 0 {
			t.Fatalf("second sweep: %d delivered, %v; want none", n, err)
		}
		got := map[string]int{}
		var carol string
		for _, m := range relay.Messages() {
			got[m.To]++
			if m.To == "carol@acme.test" {
				carol = m.Data
			}
		}
		for _, to := range []string{"carol@acme.test", "nia@nova.test", "new@palisade.test"} {
			if got[to] != 1 {
				t.Errorf("%s got %d mails, want 1", to, got[to])
			}
		}
		token := linkToken(t, strings.ReplaceAll(carol, "\r\n", "\n"), "/invitations/")
		want(t, s.browser("acme.localhost:3000").do("GET", "/api/invitation-lookup?token="+token, nil), http.StatusOK)
	})
}

// TestPasswordResetAnswersAlikeWithTheRelayDown: with the relay down, a
// reset for an existing account answers exactly as one for an unknown
// address (before the outbox it was a 500, which told them apart), and
// its mail arrives once the relay is back, with a link that works.
func TestPasswordResetAnswersAlikeWithTheRelayDown(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		clk := withClock(s)
		relay := smtptest.Start(t)
		s.api.Outbox.Mailer = relay.Mailer("Palisade <no-reply@palisade.test>")
		s.signUp("acme", "ada@acme.test")
		anon := s.browser("acme.localhost:3000")

		relay.SetDown(true)
		known := anon.do("POST", "/api/auth/password-reset", map[string]string{"email": "ada@acme.test"})
		unknown := anon.do("POST", "/api/auth/password-reset", map[string]string{"email": "ghost@acme.test"})
		if known.status != http.StatusAccepted || unknown.status != known.status || string(known.body) != string(unknown.body) {
			t.Fatalf("known %d %s, unknown %d %s: want the same 202", known.status, known.body, unknown.status, unknown.body)
		}
		s.api.WaitNudges()
		if n := len(relay.Messages()); n != 0 {
			t.Fatalf("%d mails sent with the relay down", n)
		}

		relay.SetDown(false)
		clk.advance(2 * time.Minute) // past the first back-off, within the link's life
		worker := *s.api.Outbox
		if n, err := worker.DeliverDue(context.Background()); err != nil || n != 1 {
			t.Fatalf("sweep: %d delivered, %v; want the reset mail", n, err)
		}
		ms := relay.Messages()
		if len(ms) != 1 || ms[0].To != "ada@acme.test" {
			t.Fatalf("sent %+v; want one mail to ada", ms)
		}
		token := linkToken(t, strings.ReplaceAll(ms[0].Data, "\r\n", "\n"), "token=")
		want(t, anon.do("POST", "/api/auth/password-reset/confirm", map[string]string{"token": token, "password": "a brand new passphrase"}), http.StatusOK)
	})
}
