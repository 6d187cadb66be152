package config

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// secretsAPI is the one call the resolver needs, so tests can point the real
// SDK client at a local endpoint.
type secretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// AWSSecrets resolves aws-sm://<secret-id>[#json-key] references. One secret
// holding JSON is fetched once even when several variables name its keys.
type AWSSecrets struct {
	client secretsAPI
	mu     sync.Mutex
	cache  map[string]string
}

// NewAWSSecrets wraps a Secrets Manager client.
func NewAWSSecrets(client *secretsmanager.Client) *AWSSecrets {
	return &AWSSecrets{client: client, cache: map[string]string{}}
}

// LazyAWSSecrets builds the SDK client only when a reference is met, so a
// process without AWS credentials starts fine as long as it names no secret.
type LazyAWSSecrets struct {
	once sync.Once
	r    *AWSSecrets
	err  error
	new  func(ctx context.Context) (*secretsmanager.Client, error)
}

// NewLazyAWSSecrets takes the function that builds the client (from the
// default AWS config chain in production).
func NewLazyAWSSecrets(newClient func(ctx context.Context) (*secretsmanager.Client, error)) *LazyAWSSecrets {
	return &LazyAWSSecrets{new: newClient}
}

func (l *LazyAWSSecrets) Resolve(ctx context.Context, ref string) (string, error) {
	l.once.Do(func() {
		c, err := l.new(ctx)
		if err != nil {
			l.err = fmt.Errorf("aws secrets manager client: %w", err)
			return
		}
		l.r = NewAWSSecrets(c)
	})
	if l.err != nil {
		return "", l.err
	}
	return l.r.Resolve(ctx, ref)
}

// ParseSecretRef splits aws-sm://id#key into id and key.
func ParseSecretRef(ref string) (id, key string, err error) {
	rest, ok := strings.CutPrefix(ref, "aws-sm://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an aws-sm:// reference", ref)
	}
	id, key, _ = strings.Cut(rest, "#")
	if id == "" {
		return "", "", fmt.Errorf("%q names no secret id", ref)
	}
	return id, key, nil
}

func (a *AWSSecrets) Resolve(ctx context.Context, ref string) (string, error) {
	id, key, err := ParseSecretRef(ref)
	if err != nil {
		return "", err
	}
	secret, err := a.fetch(ctx, id)
	if err != nil {
		return "", err
	}
	if key == "" {
		return secret, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(secret), &m); err != nil {
		return "", fmt.Errorf("secret %s is not a JSON object, so #%s cannot be read", id, key)
	}
	v, ok := m[key]
	if !ok {
		return "", fmt.Errorf("secret %s has no key %q", id, key)
	}
	switch v := v.(type) {
	case string:
		return v, nil
	default:
		b, _ := json.Marshal(v)
		return string(b), nil
	}
}

func (a *AWSSecrets) fetch(ctx context.Context, id string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if v, ok := a.cache[id]; ok {
		return v, nil
	}
	out, err := a.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return "", fmt.Errorf("get secret %s: %w", id, err)
	}
	var v string
	switch {
	case out.SecretString != nil:
		v = *out.SecretString
	case out.SecretBinary != nil:
		v = string(out.SecretBinary)
	default:
		return "", fmt.Errorf("secret %s has no value", id)
	}
	a.cache[id] = v
	return v, nil
}
