//go:build nodev

package main

import (
	"context"
	"errors"
	"io"

	"github.com/palisade-hq/palisade/internal/config"
)

func runDev(context.Context, config.Getenv, io.Writer, io.Writer) error {
	return errors.New("this is a production build (-tags nodev) without the dev role; run `go run ./cmd/palisade dev` from a checkout")
}
