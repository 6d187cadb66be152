package mail

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/palisade-hq/palisade/internal/core"
)

// SES sends through the Amazon SES v2 API (SendEmail) over HTTPS. The
// caller's IAM role authorises it (ses:SendEmail on the domain identity
// and the configuration set), so no SMTP password exists to store or
// rotate, and the tasks need no egress beyond 443.
type SES struct {
	Client *sesv2.Client
	// From is the sender, e.g. "Palisade <no-reply@example.com>"; its
	// domain must be a verified SES identity.
	From string
	// ConfigurationSet, when set, is named on every message (event
	// publishing of bounces and complaints, reputation metrics).
	ConfigurationSet string
}

// NewSES builds the SES mailer from an AWS configuration (region and the
// default credential chain: the ECS task role). endpoint, when set,
// replaces the AWS endpoint: tests point it at a stand-in.
func NewSES(cfg aws.Config, endpoint, from, configurationSet string) (*SES, error) {
	if cfg.Region == "" {
		return nil, errors.New("ses: no region (set PALISADE_SES_REGION or AWS_REGION)")
	}
	if from == "" {
		return nil, errors.New("ses: no sender address")
	}
	c := sesv2.NewFromConfig(cfg, func(o *sesv2.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return &SES{Client: c, From: from, ConfigurationSet: configurationSet}, nil
}

// Send sends one plain-text message. Subject and body go as UTF-8 simple
// content; SES builds the MIME message and signs it with the identity's
// DKIM key.
func (s *SES) Send(ctx context.Context, m core.Mail) error {
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.From),
		Destination:      &types.Destination{ToAddresses: []string{m.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(m.Subject), Charset: aws.String("UTF-8")},
			Body:    &types.Body{Text: &types.Content{Data: aws.String(m.Body), Charset: aws.String("UTF-8")}},
		}},
	}
	if s.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.ConfigurationSet)
	}
	if _, err := s.Client.SendEmail(ctx, in); err != nil {
		return fmt.Errorf("ses send email: %w", err)
	}
	return nil
}
