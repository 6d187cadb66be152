package outbox_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/mail"
	"github.com/palisade-hq/palisade/internal/mail/smtptest"
	"github.com/palisade-hq/palisade/internal/outbox"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// The fault tests: the database or the relay is killed at each step of
// "invite someone", and afterwards there is never an invitation without
// its mail on the way, nor a mail without its invitation.

const from = "Palisade <no-reply@palisade.test>"

// env is a real database (two stores on it stand for two processes: one
// that dies and one that carries on), a real relay and a clock.
type env struct {
	t      *testing.T
	driver string
	dsn    string
	st     *store.Store
	relay  *smtptest.Server
	now    time.Time
	tenant core.Tenant
}

func newEnv(t *testing.T, driver string) *env {
	t.Helper()
	e := &env{t: t, driver: driver, dsn: testenv.DSN(t, driver), now: time.Now().Truncate(time.Millisecond), relay: smtptest.Start(t)}
	e.st = e.open()
	if err := e.st.Migrate(context.Background(), testenv.Logger(t)); err != nil {
		t.Fatal(err)
	}
	tn, err := e.st.CreateTenant(context.Background(), "acme", "Acme", core.AuditEvent{Action: "tenant.created", ActorType: "system"})
	if err != nil {
		t.Fatal(err)
	}
	e.tenant = tn
	return e
}

// open is another process's pool on the same database, on the test's clock.
func (e *env) open() *store.Store {
	e.t.Helper()
	st, err := store.Open(context.Background(), e.driver, e.dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	st.Now = func() time.Time { return e.now }
	return st
}

func (e *env) deliverer(st *store.Store) *outbox.Deliverer {
	return &outbox.Deliverer{Store: st, Mailer: e.relay.Mailer(from), Log: testenv.Logger(e.t)}
}

// invite is the API's createInvitation in store terms: the invitation and
// its mail in one transaction.
func (e *env) invite(st *store.Store, email string, also ...store.TxFunc) (core.Invitation, *outbox.Pending, error) {
	fx := outbox.With(st.Now, outbox.Mail(core.Mail{To: email, Subject: "You are invited to Acme on Palisade", Body: "Accept: https://acme.example/invitations/tok-" + email}))
	inv, err := st.Tenant(e.tenant.ID).CreateInvitation(context.Background(), email, core.RoleMember, 0, "hash-"+email, e.now.Add(time.Hour), core.AuditEvent{Action: "invitation.created"}, append([]store.TxFunc{fx.Write}, also...)...)
	return inv, fx, err
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.open().DB().QueryRow(q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

type row struct {
	status   string
	attempts int
	next     int64
	created  int64
	lastErr  sql.NullString
}

func (e *env) row(id int64) row {
	e.t.Helper()
	var r row
	if err := e.open().DB().QueryRow(`SELECT status, attempts, next_attempt_at, created_at, last_error FROM outbox WHERE id = ?`, id).Scan(&r.status, &r.attempts, &r.next, &r.created, &r.lastErr); err != nil {
		e.t.Fatalf("outbox row %d: %v", id, err)
	}
	return r
}

// mailsTo are the relay's messages to addr.
func (e *env) mailsTo(addr string) []smtptest.Message {
	var out []smtptest.Message
	for _, m := range e.relay.Messages() {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

// The relay is down when the request nudges delivery: the invitation is
// committed with its pending mail, and once the relay is back the
// worker's sweep delivers it, once, keyed by the outbox id.
func TestRelayDownAtDelivery(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		ctx := context.Background()
		e.relay.SetDown(true)
		inv, fx, err := e.invite(e.st, "carol@acme.test")
		if err != nil {
			t.Fatal(err)
		}
		d := e.deliverer(e.st)
		if err := d.Deliver(ctx, fx.IDs...); err == nil || !strings.Contains(err.Error(), "421") {
			t.Fatalf("nudge with the relay down: %v, want its 421", err)
		}
		if _, err := e.st.Tenant(e.tenant.ID).Invitation(ctx, inv.ID); err != nil {
			t.Fatalf("the invitation must stand when its mail could not go: %v", err)
		}
		r := e.row(fx.IDs[0])
		if r.status != "pending" || r.attempts != 1 || r.next <= e.now.UnixMilli() || !r.lastErr.Valid {
			t.Fatalf("after a failed attempt: %+v, want pending, 1 attempt, backed off, error kept", r)
		}
		// Not due yet: the back-off holds even when the relay is back.
		e.relay.SetDown(false)
		if n, err := d.DeliverDue(ctx); err != nil || n != 0 {
			t.Fatalf("sweep inside the back-off: %d %v, want nothing", n, err)
		}
		if len(e.mailsTo("carol@acme.test")) != 0 {
			t.Fatal("mail sent before its retry was due")
		}
		e.now = e.now.Add(time.Minute)
		if n, err := d.DeliverDue(ctx); err != nil || n != 1 {
			t.Fatalf("sweep after the back-off: %d %v, want 1 delivered", n, err)
		}
		// Later sweeps, the nudge again: nothing more.
		e.now = e.now.Add(time.Hour)
		if n, err := d.DeliverDue(ctx); err != nil || n != 0 {
			t.Fatalf("second sweep: %d %v", n, err)
		}
		if err := d.Deliver(ctx, fx.IDs...); err != nil {
			t.Fatal(err)
		}
		got := e.mailsTo("carol@acme.test")
		if len(got) != 1 {
			t.Fatalf("%d mails to carol, want exactly 1", len(got))
		}
		if want := "<" + outbox.Key(fx.IDs[0], r.created) + "@palisade.test>"; got[0].MessageID != want {
			t.Fatalf("Message-ID %q, want %q (the outbox id's key)", got[0].MessageID, want)
		}
		if !strings.Contains(got[0].Data, "tok-carol@acme.test") {
			t.Fatalf("mail body: %q", got[0].Data)
		}
		if r := e.row(fx.IDs[0]); r.status != "delivered" || r.lastErr.Valid {
			t.Fatalf("after delivery: %+v", r)
		}
		// The link's token leaves the database with the delivery.
		if n := e.count(`SELECT COUNT(*) FROM outbox WHERE payload LIKE '%tok-%'`); n != 0 {
			t.Fatalf("%d delivered messages still hold their payload", n)
		}
	})
}

// The purge deletes messages done with after the keep period, never a
// pending one.
func TestPurgeKeepsPendingMessages(t *testing.T) {
	const keep = 7 * 24 * time.Hour // the maintenance purge's
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	_, sent, err := e.invite(e.st, "judy@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.deliverer(e.st).Deliver(ctx, sent.IDs...); err != nil {
		t.Fatal(err)
	}
	e.relay.SetDown(true)
	_, stuck, err := e.invite(e.st, "ken@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	_ = e.deliverer(e.st).Deliver(ctx, stuck.IDs...)
	e.now = e.now.Add(keep + time.Hour)
	if _, err := e.st.PurgeExpired(ctx, keep); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM outbox WHERE id = ?`, sent.IDs[0]); n != 0 {
		t.Fatal("an old delivered message survived the purge")
	}
	if r := e.row(stuck.IDs[0]); r.status != "pending" {
		t.Fatalf("pending message after the purge: %+v", r)
	}
}

// The database dies right after the commit, before the nudge: the
// original bug left an invitation without its mail there. The mail is in
// the outbox, and another process's sweep sends it.
func TestDatabaseLostAfterCommit(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		ctx := context.Background()
		dying := e.open()
		_, fx, err := e.invite(dying, "dave@acme.test")
		if err != nil {
			t.Fatal(err)
		}
		dying.Close()
		if err := e.deliverer(dying).Deliver(ctx, fx.IDs...); err == nil {
			t.Fatal("nudge on a closed database succeeded")
		}
		if len(e.mailsTo("dave@acme.test")) != 0 {
			t.Fatal("mail sent although its message could not be claimed")
		}
		if n, err := e.deliverer(e.open()).DeliverDue(ctx); err != nil || n != 1 {
			t.Fatalf("the survivor's sweep: %d %v, want 1", n, err)
		}
		if n := len(e.mailsTo("dave@acme.test")); n != 1 {
			t.Fatalf("%d mails, want 1", n)
		}
	})
}

// The database fails at each write of the invitation's transaction: then
// neither the invitation, its audit row nor its mail exists, and no
// sweep ever sends one.
func TestDatabaseFailsInsideTransaction(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		for _, table := range []string{"invitations", "audit_events", "outbox"} {
			t.Run(table, func(t *testing.T) {
				e := newEnv(t, driver)
				fault := `CREATE TRIGGER fault BEFORE INSERT ON ` + table + ` BEGIN SELECT RAISE(ABORT, 'injected fault'); END`
				if driver == "mysql" {
					fault = `CREATE TRIGGER fault BEFORE INSERT ON ` + table + ` FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected fault'`
				}
				if _, err := e.st.DB().Exec(fault); err != nil {
					// A MariaDB user without the TRIGGER privilege can run
					// the rest; CI's (PALISADE_TEST_REQUIRE_SERVICES) must run this.
					if driver == "mysql" && !testenv.Required() {
						testenv.Note(t, "skipped", "MariaDB with the TRIGGER privilege", "PALISADE_TEST_MYSQL_DSN")
						t.Skipf("this MariaDB refuses triggers to the test user: %v", err)
					}
					t.Fatal(err)
				}
				_, fx, err := e.invite(e.st, "erin@acme.test")
				if err == nil || !strings.Contains(err.Error(), "injected fault") {
					t.Fatalf("invite with %s failing: %v, want the fault", table, err)
				}
				e.requireNothing(fx)
			})
		}
		// The last write succeeds but the transaction does not commit.
		t.Run("after the outbox write", func(t *testing.T) {
			e := newEnv(t, driver)
			boom := errors.New("connection lost before commit")
			_, fx, err := e.invite(e.st, "erin@acme.test", func(context.Context, *sql.Tx) error { return boom })
			if !errors.Is(err, boom) {
				t.Fatalf("got %v", err)
			}
			if len(fx.IDs) != 1 {
				t.Fatalf("the outbox row was not written before the failure (%v): the test proves nothing", fx.IDs)
			}
			e.requireNothing(fx)
		})
	})
}

func (e *env) requireNothing(fx *outbox.Pending) {
	e.t.Helper()
	if n := e.count(`SELECT COUNT(*) FROM invitations WHERE email = ?`, "erin@acme.test"); n != 0 {
		e.t.Fatalf("%d invitations survived the failed transaction", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM outbox`); n != 0 {
		e.t.Fatalf("%d outbox rows survived the failed transaction", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM audit_events WHERE action = 'invitation.created'`); n != 0 {
		e.t.Fatalf("%d audit rows survived the failed transaction", n)
	}
	e.now = e.now.Add(time.Hour)
	if n, err := e.deliverer(e.st).DeliverDue(context.Background()); err != nil || n != 0 {
		e.t.Fatalf("sweep: %d %v, want nothing", n, err)
	}
	if len(e.relay.Messages()) != 0 {
		e.t.Fatal("a mail went out for an invitation that does not exist")
	}
}

// A deliverer dies after the relay accepted the mail and before it marked
// the message delivered (its database is gone at that moment). When its
// lease ends, another deliverer sends the mail again with the same
// Message-ID: at least once, never zero times. The relay sees two copies
// and may drop the second by its Message-ID; the dev outbox does (below).
func TestCrashAfterSendBeforeMark(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		ctx := context.Background()
		_, fx, err := e.invite(e.st, "frank@acme.test")
		if err != nil {
			t.Fatal(err)
		}
		dying := e.open()
		var once sync.Once
		e.relay.OnData(func(smtptest.Message) { once.Do(func() { dying.Close() }) })
		err = e.deliverer(dying).Deliver(ctx, fx.IDs...)
		if err == nil || !strings.Contains(err.Error(), "mark") {
			t.Fatalf("delivery whose mark failed: %v", err)
		}
		if r := e.row(fx.IDs[0]); r.status != "pending" || r.attempts != 1 {
			t.Fatalf("after the crash: %+v, want still pending (leased)", r)
		}
		d := e.deliverer(e.st)
		// Inside the lease nobody takes it: no third copy while the first
		// deliverer might still be marking.
		if n, err := d.DeliverDue(ctx); err != nil || n != 0 {
			t.Fatalf("sweep inside the lease: %d %v", n, err)
		}
		e.now = e.now.Add(2*time.Minute + time.Second)
		if n, err := d.DeliverDue(ctx); err != nil || n != 1 {
			t.Fatalf("sweep after the lease: %d %v, want 1", n, err)
		}
		got := e.mailsTo("frank@acme.test")
		if len(got) != 2 || got[0].MessageID == "" || got[0].MessageID != got[1].MessageID {
			t.Fatalf("want the mail twice with one Message-ID, got %d: %+v", len(got), got)
		}
		if r := e.row(fx.IDs[0]); r.status != "delivered" || r.attempts != 2 {
			t.Fatalf("after redelivery: %+v", r)
		}
	})
}

// failAfterSend delivers, then reports a failure the first n times: the
// connection dropped after the relay took the message.
type failAfterSend struct {
	mail.Mailer
	n int
}

func (f *failAfterSend) Send(ctx context.Context, m core.Mail) error {
	if err := f.Mailer.Send(ctx, m); err != nil {
		return err
	}
	if f.n > 0 {
		f.n--
		return errors.New("connection reset after DATA")
	}
	return nil
}

// The receiver side is idempotent: the dev mailer keeps one copy per
// outbox id however often the message is delivered.
func TestDevOutboxDedupesByOutboxID(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	_, fx, err := e.invite(e.st, "grace@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	d := &outbox.Deliverer{Store: e.st, Mailer: &failAfterSend{Mailer: mail.Outbox{Store: e.st}, n: 2}}
	for i := 0; i < 3; i++ {
		_ = d.Deliver(ctx, fx.IDs...)
		e.now = e.now.Add(time.Hour)
	}
	if r := e.row(fx.IDs[0]); r.status != "delivered" || r.attempts != 3 {
		t.Fatalf("outbox row %+v, want delivered on the third attempt", r)
	}
	if n := e.count(`SELECT COUNT(*) FROM mail_outbox WHERE to_addr = ?`, "grace@acme.test"); n != 1 {
		t.Fatalf("the dev outbox holds %d copies, want 1", n)
	}
	// A mail without a key (not from the outbox) is kept every time.
	for i := 0; i < 2; i++ {
		if err := e.st.AddMail(ctx, core.Mail{To: "heidi@acme.test", Subject: "s", Body: "b"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM mail_outbox WHERE to_addr = ?`, "heidi@acme.test"); n != 2 {
		t.Fatalf("keyless mails: %d, want 2", n)
	}
}

// Two deliverers sweeping at once (two workers, or a nudge beside a
// sweep) send each message once: the claim is a lease.
func TestConcurrentDeliverersSendOnce(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	var ids []int64
	for _, a := range []string{"a", "b", "c", "d", "e", "f"} {
		_, fx, err := e.invite(e.st, a+"@acme.test")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, fx.IDs...)
	}
	var wg sync.WaitGroup
	total := make([]int, 3)
	for i := range total {
		wg.Add(1)
		go func() {
			defer wg.Done()
			total[i], _ = e.deliverer(e.open()).DeliverDue(ctx)
		}()
	}
	wg.Wait()
	if sum := total[0] + total[1] + total[2]; sum != len(ids) {
		t.Fatalf("delivered %v, want %d in all", total, len(ids))
	}
	if n := len(e.relay.Messages()); n != len(ids) {
		t.Fatalf("relay got %d mails for %d messages", n, len(ids))
	}
}

// A message is validated where it is written: a bad one fails the
// change's transaction instead of a delivery later.
func TestValidateOnWrite(t *testing.T) {
	e := newEnv(t, "sqlite")
	bad := outbox.With(e.st.Now, outbox.Mail(core.Mail{To: "not an address", Subject: "s", Body: "b"}))
	if _, err := e.st.Tenant(e.tenant.ID).CreateInvitation(context.Background(), "ivan@acme.test", core.RoleMember, 0, "h", e.now.Add(time.Hour), core.AuditEvent{Action: "invitation.created"}, bad.Write); err == nil {
		t.Fatal("a mail to no address was written")
	}
	if n := e.count(`SELECT COUNT(*) FROM invitations`); n != 0 {
		t.Fatal("the invitation committed without its mail")
	}
	for name, m := range map[string]outbox.Message{
		"unknown kind":     {Kind: "fax", Payload: json.RawMessage(`{}`)},
		"unknown field":    {Kind: outbox.KindMail, Payload: json.RawMessage(`{"to":"a@b.co","subject":"s","body":"b","bcc":"x@y.z"}`)},
		"header injection": outbox.Mail(core.Mail{To: "a@b.co", Subject: "s\r\nBcc: x@y.z", Body: "b"}),
		"job without name": {Kind: outbox.KindJob, Payload: json.RawMessage(`{"job":"","payload":{}}`)},
		"no channels":      {Kind: outbox.KindRealtime, Payload: json.RawMessage(`{"channels":[],"event":"e","data":{}}`)},
	} {
		if err := m.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	job, err := outbox.Job(testJob, testPayload{TenantID: 7})
	if err != nil || job.Validate() != nil {
		t.Fatalf("a job message: %v %v", err, job.Validate())
	}
}

// testJob stands for a feature's job enqueued by a change.
type testPayload struct {
	TenantID int64 `json:"tenant_id"`
}

var (
	testJob  = jobs.Define[testPayload]("test.outbox_job", jobs.Options{})
	strayJob = jobs.Define[jobs.Empty]("test.not_allowed", jobs.Options{})
)

// publisher records realtime triggers (the realtime server's HTTP API has
// its own tests in internal/realtime/publish).
type publisher struct {
	mu    sync.Mutex
	calls []string
	fail  bool
}

func (p *publisher) Trigger(_ context.Context, channels []string, event string, data any, _ string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return errors.New("realtime server away")
	}
	raw, _ := json.Marshal(data)
	p.calls = append(p.calls, strings.Join(channels, ",")+" "+event+" "+string(raw))
	return nil
}

// Job and realtime messages: a job is enqueued under the message's key, so
// a second delivery is refused by the queue and counts as delivered; a
// job name the deliverer does not allow is dead at once; a realtime event
// is retried while the server is away.
func TestJobAndRealtimeMessages(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	rdb, _, _ := testenv.Redis(t)
	q := &outbox.JobQueue{Client: jobs.NewClient(rdb)}
	outbox.AllowJob(q, testJob)
	pub := &publisher{fail: true}
	d := &outbox.Deliverer{Store: e.st, Jobs: q, Realtime: pub}

	job, _ := outbox.Job(testJob, testPayload{TenantID: e.tenant.ID})
	stray, _ := outbox.Job(strayJob, jobs.Empty{})
	ev, _ := outbox.Realtime([]string{"private-tenant.1.files"}, "file.scanned", map[string]any{"id": 3})
	fx := outbox.With(e.st.Now, job, stray, ev)
	if err := e.st.InTx(ctx, func(tx *sql.Tx) error { return fx.Write(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	_ = d.Deliver(ctx, fx.IDs...)
	if r := e.row(fx.IDs[0]); r.status != "delivered" {
		t.Fatalf("job message: %+v", r)
	}
	if r := e.row(fx.IDs[1]); r.status != "dead" || !strings.Contains(r.lastErr.String, "may not be enqueued") {
		t.Fatalf("job not allowed: %+v, want dead", r)
	}
	if r := e.row(fx.IDs[2]); r.status != "pending" || r.attempts != 1 {
		t.Fatalf("realtime with the server away: %+v", r)
	}
	// The same job under the same key again: refused as a duplicate, which
	// is success (the crash-after-enqueue case).
	r := e.row(fx.IDs[0])
	if err := q.EnqueueRaw(ctx, testJob.Name, json.RawMessage(`{"tenant_id":1}`), outbox.Key(fx.IDs[0], r.created)); err != nil {
		t.Fatalf("re-enqueue under the same key: %v", err)
	}
	if err := q.EnqueueRaw(ctx, testJob.Name, json.RawMessage(`{"tenant_id":1}`), "another-key"); err != nil {
		t.Fatal(err)
	}
	pub.mu.Lock()
	pub.fail = false
	pub.mu.Unlock()
	e.now = e.now.Add(time.Hour)
	if n, err := d.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v, want the realtime event", n, err)
	}
	if len(pub.calls) != 1 || pub.calls[0] != `private-tenant.1.files file.scanned {"id":3}` {
		t.Fatalf("published %q", pub.calls)
	}
}

// The API's deliverer has a mailer only: it leaves other kinds alone
// (unclaimed, attempts untouched) for the worker's.
func TestDelivererLeavesKindsItCannotSend(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	ev, _ := outbox.Realtime([]string{"private-tenant.1.files"}, "file.scanned", map[string]any{"id": 3})
	fx := outbox.With(e.st.Now, ev)
	if err := e.st.InTx(ctx, func(tx *sql.Tx) error { return fx.Write(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	if err := e.deliverer(e.st).Deliver(ctx, fx.IDs...); err != nil {
		t.Fatal(err)
	}
	if r := e.row(fx.IDs[0]); r.status != "pending" || r.attempts != 0 {
		t.Fatalf("mail-only deliverer touched a realtime message: %+v", r)
	}
}

// TestSweepGoesPastAFailedMessage: a message whose effect fails is
// rescheduled and the sweep goes on to the next, so one bad message (a
// realtime server away) holds up no mail behind it, and the sweep is no
// failure of its own (only the outbox's database failing is).
func TestSweepGoesPastAFailedMessage(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	pub := &publisher{fail: true}
	d := e.deliverer(e.st)
	d.Realtime = pub
	ev, _ := outbox.Realtime([]string{"private-tenant.1.files"}, "file.scanned", map[string]any{"id": 3})
	first := outbox.With(e.st.Now, ev)
	if err := e.st.InTx(ctx, func(tx *sql.Tx) error { return first.Write(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.invite(e.st, "carol@acme.test"); err != nil {
		t.Fatal(err)
	}
	if n, err := d.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d delivered, %v; want the mail behind the failed event, and no error", n, err)
	}
	if len(e.mailsTo("carol@acme.test")) != 1 {
		t.Fatal("the mail behind the failed event was not sent")
	}
	if r := e.row(first.IDs[0]); r.status != "pending" || r.attempts != 1 || !r.lastErr.Valid {
		t.Fatalf("failed event: %+v, want pending, 1 attempt, error kept", r)
	}
}
