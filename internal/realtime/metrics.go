package realtime

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	connections   prometheus.Gauge
	subscriptions prometheus.Gauge
	messagesIn    prometheus.Counter
	messagesOut   prometheus.Counter
	refusals      *prometheus.CounterVec
	webhooksDrop  prometheus.Counter
	busErrors     prometheus.Counter
}

// newMetrics registers the server's metrics on reg (nil: not registered).
// Per-second rates are the counters' rate() in Prometheus.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "palisade_realtime_connections", Help: "Open WebSocket connections on this replica."}),
		subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "palisade_realtime_subscriptions", Help: "Channel subscriptions on this replica."}),
		messagesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palisade_realtime_messages_in_total", Help: "WebSocket messages received from clients."}),
		messagesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palisade_realtime_messages_out_total", Help: "WebSocket messages written to clients."}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_realtime_refusals_total", Help: "Protocol errors and refusals sent, by Pusher code."}, []string{"code"}),
		webhooksDrop: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palisade_realtime_webhooks_dropped_total", Help: "Webhook events dropped because the sink's buffer was full."}),
		busErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palisade_realtime_bus_errors_total", Help: "Failed Redis publishes and presence or occupancy updates."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.connections, m.subscriptions, m.messagesIn, m.messagesOut, m.refusals, m.webhooksDrop, m.busErrors} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, errors.New("realtime metrics already registered: give each server its own registry")
			}
			return nil, err
		}
	}
	return m, nil
}
