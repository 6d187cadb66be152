// Package realtime is Palisade's Pusher-protocol (v7) WebSocket server, the
// counterpart of Laravel Reverb: unmodified pusher-js and laravel-echo clients
// connect to /app/<key>, and the backend publishes through the Pusher HTTP
// API on the same port. Replicas share channels and presence over Redis.
package realtime

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

// Config is one Pusher app served by this process. Zero values take the
// defaults of withDefaults.
type Config struct {
	AppID     string
	AppKey    string
	AppSecret string

	// MaxConnections is the app's connection limit over all replicas
	// (enforced with a lag of one heartbeat); beyond it a socket is closed
	// with 4004. Negative means unlimited.
	MaxConnections int
	// TenantMaxConnections limits the sockets subscribed to one tenant's
	// channels over all replicas; beyond it the subscription is refused with
	// 4004. Negative means unlimited.
	TenantMaxConnections int
	// MaxMessageBytes is the largest WebSocket message a client may send and
	// the largest event data the HTTP API accepts.
	MaxMessageBytes int
	// ClientEventsPerSecond is the rate of client- events one socket may send.
	ClientEventsPerSecond int
	// TenantClientEventsPerSecond is the rate of client- events all sockets of
	// one tenant may send on one replica. Negative means unlimited.
	TenantClientEventsPerSecond int

	// ActivityTimeout is sent to clients: they ping after that much silence.
	// The server pings a socket silent for that long and closes it with 4201
	// when no pong comes within PongTimeout.
	ActivityTimeout time.Duration
	PongTimeout     time.Duration
	// PresenceTTL is how long a replica may miss heartbeats before the others
	// remove its presence members and channel occupancy.
	PresenceTTL time.Duration
	// HeartbeatInterval defaults to PresenceTTL/3.
	HeartbeatInterval time.Duration

	// MaxBodyBytes limits an HTTP API request body.
	MaxBodyBytes int64
	// WebhookURL is where webhooks go (through the WebhookSink); empty turns
	// webhook emission off.
	WebhookURL string
	// WebhookBuffer is how many webhook events may wait for the sink before
	// new ones are dropped (and counted) rather than block a socket.
	WebhookBuffer int
	// RedisPrefix starts every Redis key and pub/sub channel of this app.
	RedisPrefix string
	// WriteBufferMessages is how many messages may queue for one slow socket
	// before it is closed with 4100.
	WriteBufferMessages int
	// AllowNonTenantPrivateChannels lets private-/presence- channels that do
	// not follow the tenant naming rule be subscribed with a valid signature.
	// Off by default: Palisade's auth endpoint never signs them.
	AllowNonTenantPrivateChannels bool
	// NodeID names this replica in Redis; a random one by default.
	NodeID string
	// FanoutShards is how many workers write a broadcast, each to its share
	// of the sockets; GOMAXPROCS by default.
	FanoutShards int
}

func (c Config) withDefaults() Config {
	if c.MaxConnections == 0 {
		c.MaxConnections = 10000
	}
	if c.TenantMaxConnections == 0 {
		c.TenantMaxConnections = -1
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 10_000 // Pusher's and Reverb's 10 kB
	}
	if c.ClientEventsPerSecond == 0 {
		c.ClientEventsPerSecond = 10 // Pusher's per-connection limit
	}
	if c.TenantClientEventsPerSecond == 0 {
		c.TenantClientEventsPerSecond = -1
	}
	if c.ActivityTimeout == 0 {
		c.ActivityTimeout = 30 * time.Second // Reverb's ping interval
	}
	if c.PongTimeout == 0 {
		c.PongTimeout = 30 * time.Second
	}
	if c.PresenceTTL == 0 {
		c.PresenceTTL = 30 * time.Second
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = c.PresenceTTL / 3
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.WebhookBuffer == 0 {
		c.WebhookBuffer = 4096
	}
	if c.RedisPrefix == "" {
		c.RedisPrefix = "palisade:realtime:"
	}
	if c.WriteBufferMessages == 0 {
		c.WriteBufferMessages = 256
	}
	if c.FanoutShards <= 0 {
		c.FanoutShards = runtime.GOMAXPROCS(0)
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.AppID == "" {
		errs = append(errs, errors.New("AppID is empty"))
	}
	if c.AppKey == "" {
		errs = append(errs, errors.New("AppKey is empty"))
	}
	if c.AppSecret == "" {
		errs = append(errs, errors.New("AppSecret is empty"))
	}
	if c.MaxMessageBytes < 0 || c.ClientEventsPerSecond < 0 || c.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("MaxMessageBytes, ClientEventsPerSecond and MaxBodyBytes must not be negative"))
	}
	if c.ActivityTimeout < time.Second/10 || c.PongTimeout < time.Second/10 {
		errs = append(errs, fmt.Errorf("ActivityTimeout (%s) and PongTimeout (%s) must be at least 100ms", c.ActivityTimeout, c.PongTimeout))
	}
	if c.HeartbeatInterval <= 0 || c.HeartbeatInterval >= c.PresenceTTL {
		errs = append(errs, fmt.Errorf("HeartbeatInterval (%s) must be positive and below PresenceTTL (%s)", c.HeartbeatInterval, c.PresenceTTL))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("realtime config: %w", err)
	}
	return nil
}
