// Package core holds Palisade's domain types and the small set of error kinds
// every layer speaks. It imports nothing of Palisade's own.
package core

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the transport layer.
type Kind string

const (
	KindInvalid         Kind = "invalid"
	KindNotFound        Kind = "not_found"
	KindConflict        Kind = "conflict"
	KindForbidden       Kind = "forbidden"
	KindUnauthenticated Kind = "unauthenticated"
	KindSuspended       Kind = "tenant_suspended"
	KindThrottled       Kind = "throttled"
	KindInternal        Kind = "internal"
)

// Error is a domain error with a message safe to show to the user.
type Error struct {
	Kind    Kind
	Message string
	// Field names the input field at fault, when there is one.
	Field string
	// Reason is a stable machine code for the specific case (the wire
	// package lists them), for clients that must tell it apart.
	Reason string
	// RetryAfterSeconds is set on KindThrottled.
	RetryAfterSeconds int
	Err               error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds a domain error of a kind.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Invalid is a validation error on one field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrNotFound is what every lookup returns for a missing row, including a
// row that exists in another tenant: the two must be indistinguishable.
var ErrNotFound = &Error{Kind: KindNotFound, Message: "not found"}

// KindOf returns the kind of err, or KindInternal for foreign errors.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// IsNotFound reports whether err is a not-found error.
func IsNotFound(err error) bool { return KindOf(err) == KindNotFound }
