package core

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Tenant status values.
const (
	TenantActive    = "active"
	TenantSuspended = "suspended"
)

// Tenant is one customer organisation, reached at <slug>.<base domain>.
type Tenant struct {
	ID            int64     `json:"id"`
	Slug          string    `json:"slug"`
	Name          string    `json:"name"`
	Status        string    `json:"status"`
	SuspendReason string    `json:"suspend_reason,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}

// Role of a member within a tenant.
type Role string

const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleAdmin || r == RoleMember }

// CanManageMembers reports whether the role may invite and remove members.
func (r Role) CanManageMembers() bool { return r == RoleOwner || r == RoleAdmin }

// User is a person; one user may belong to several tenants.
type User struct {
	ID           int64     `json:"id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
}

// Member is a user seen from one tenant.
type Member struct {
	UserID   int64     `json:"user_id"`
	Email    string    `json:"email"`
	Name     string    `json:"name"`
	Role     Role      `json:"role"`
	JoinedAt time.Time `json:"joined_at"`
}

// Invitation to join a tenant. The token itself is never stored, only its hash.
type Invitation struct {
	ID         int64      `json:"id"`
	TenantID   int64      `json:"-"`
	Email      string     `json:"email"`
	Role       Role       `json:"role"`
	InvitedBy  int64      `json:"invited_by"`
	ExpiresAt  time.Time  `json:"expires_at"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// Operator is a Palisade staff member using HQ, a separate login realm.
type Operator struct {
	ID           int64     `json:"id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Status       string    `json:"status"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
}

// AuditEvent records who did what to what, from where, and how it ended.
type AuditEvent struct {
	ID        int64     `json:"id"`
	TenantID  *int64    `json:"tenant_id,omitempty"`
	ActorType string    `json:"actor_type"`
	ActorID   *int64    `json:"actor_id,omitempty"`
	Action    string    `json:"action"`
	Target    string    `json:"target,omitempty"`
	Outcome   string    `json:"outcome"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Mail is an outgoing message (and a row of the dev outbox).
type Mail struct {
	ID        int64     `json:"id"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	// IdempotencyKey, when set, names the message for receivers that
	// dedupe (the dev outbox keeps it once; SMTP derives its Message-ID
	// from it). The transactional outbox sets it to its message id.
	IdempotencyKey string `json:"-"`
}

// Field limits, shared by validation and the schema.
const (
	MaxEmailLen    = 254
	MaxNameLen     = 100
	MinPasswordLen = 12
	MaxPasswordLen = 256
	MinSlugLen     = 3
	MaxSlugLen     = 32
	MaxReasonLen   = 500
)

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`)

// reservedSlugs are host names Palisade uses itself or that invite phishing.
var reservedSlugs = map[string]bool{
	"admin": true, "api": true, "app": true, "wss": true, "ws": true, "www": true, "mail": true,
	"hq": true, "static": true, "assets": true, "status": true, "support": true, "help": true,
	"login": true, "auth": true, "internal": true, "palisade": true, "security": true,
}

// ValidateSlug checks a tenant slug, which becomes a DNS label.
func ValidateSlug(s string) error {
	if len(s) < MinSlugLen || len(s) > MaxSlugLen {
		return Invalid("slug", "must be %d to %d characters", MinSlugLen, MaxSlugLen)
	}
	if !slugRE.MatchString(s) {
		return Invalid("slug", "may hold only lowercase letters, digits and inner hyphens")
	}
	if reservedSlugs[s] {
		return Invalid("slug", "%q is reserved", s)
	}
	return nil
}

// NormalizeEmail lower-cases and validates an address.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", Invalid("email", "is required")
	}
	if len(s) > MaxEmailLen {
		return "", Invalid("email", "must be at most %d characters", MaxEmailLen)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") && !strings.HasSuffix(s, "@localhost") {
		return "", Invalid("email", "%q is not an email address", s)
	}
	return s, nil
}

// ValidateName checks a display name.
func ValidateName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Invalid(field, "is required")
	}
	if utf8.RuneCountInString(s) > MaxNameLen {
		return "", Invalid(field, "must be at most %d characters", MaxNameLen)
	}
	if r, found := HiddenRune(s); found {
		return "", RefuseHidden(field, r)
	}
	return s, nil
}

// ValidatePassword enforces the password policy (length, per NIST 800-63B).
func ValidatePassword(p string) error {
	n := utf8.RuneCountInString(p)
	if n < MinPasswordLen {
		return Invalid("password", "must be at least %d characters (it has %d); a passphrase of a few words works well", MinPasswordLen, n)
	}
	if len(p) > MaxPasswordLen {
		return Invalid("password", "must be at most %d bytes", MaxPasswordLen)
	}
	return nil
}

// AuditRow is an audit event as pages show it: with the names of its actor
// and tenant, resolved when it is read (the chained event keeps only ids).
type AuditRow struct {
	AuditEvent
	ActorName  string `json:"actor_name,omitempty"`
	TenantName string `json:"tenant_name,omitempty"`
}

// Actor says who acted, for people: a name when there is one, else what
// kind of actor it was.
func (r AuditRow) Actor() string {
	switch {
	case r.ActorName != "" && r.ActorType == "operator":
		return r.ActorName + " (Palisade HQ)"
	case r.ActorName != "":
		return r.ActorName
	case r.ActorType == "anonymous":
		return "someone not logged in"
	case r.ActorType == "system":
		return "Palisade"
	case r.ActorType == "user" || r.ActorType == "operator":
		return "a deleted account"
	}
	return r.ActorType
}
