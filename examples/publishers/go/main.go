// Command publish is an example publisher for nats-alerter: it sends one
// alerting.v1.AlertEvent with every field set, the RESOLVED event that ends
// it, or one alerting.v1.MetricSample, encoded with the code generated from
// proto/ (scripts/generate-publisher-code.sh). With "follow" it publishes the
// FIRING event and then prints what became of it, from nats-alerter's
// state-change events (README, "NATS control plane"), until a notification
// was sent or given up.
//
//	publish [-server nats://127.0.0.1:4222] [-source simulation-worker-7] firing|resolved|sample|follow
//
// Each message carries the header Nats-Msg-Id (the event_id for events), so
// JetStream drops a retried publish within the stream's duplicate window.
package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	alertingv1 "example.com/platform/alerting/v1"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
)

const (
	alertSubject  = "simulation_worker.process_crash"
	sampleSubject = "metrics.memory.percent"
)

func main() {
	server := flag.String("server", nats.DefaultURL, "NATS server URL")
	source := flag.String("source", "simulation-worker-7", "the emitting service or instance (the source label)")
	prefix := flag.String("prefix", "nats_alerter", "nats-alerter's nats.control.prefix (follow)")
	wait := flag.Duration("wait", 30*time.Second, "how long follow waits for a notification outcome")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [flags] firing|resolved|sample|follow\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(64)
	}

	if flag.Arg(0) == "follow" {
		follow(*server, *source, *prefix, *wait)
		return
	}

	var subject string
	var message proto.Message
	var msgID string
	switch flag.Arg(0) {
	case "firing", "resolved":
		event := crashEvent(*source, flag.Arg(0) == "resolved")
		subject, message, msgID = alertSubject, event, event.EventId
	case "sample":
		subject, message, msgID = sampleSubject, memorySample(*source), newUUID()
	default:
		flag.Usage()
		os.Exit(64)
	}

	payload, err := proto.Marshal(message)
	if err != nil {
		fail("encoding: %v", err)
	}
	connection, err := nats.Connect(*server, nats.Name("publisher-example-go"), nats.Timeout(5*time.Second))
	if err != nil {
		fail("connecting to %s: %v", *server, err)
	}
	defer connection.Close()
	msg := nats.NewMsg(subject)
	msg.Data = payload
	msg.Header.Set(nats.MsgIdHdr, msgID)
	if err := connection.PublishMsg(msg); err != nil {
		fail("publishing: %v", err)
	}
	// Publish only buffers: flush so the server has the message before exit.
	if err := connection.FlushTimeout(5 * time.Second); err != nil {
		fail("flushing: %v", err)
	}
	fmt.Printf("published %s on %s (%d bytes, Nats-Msg-Id %s)\n", flag.Arg(0), subject, len(payload), msgID)
}

// follow subscribes to nats-alerter's state-change events, publishes the
// FIRING event, and prints the events about its alert: alert.* events by the
// alert's labels, then notification.* events by the alert's fingerprint.
// It ends at the first notification outcome (exit 0) or after wait (exit 1).
func follow(server, source, prefix string, wait time.Duration) {
	connection, err := nats.Connect(server, nats.Name("publisher-example-go"), nats.Timeout(5*time.Second))
	if err != nil {
		fail("connecting to %s: %v", server, err)
	}
	defer connection.Close()
	// Subscribe first: events published before the subscription are not kept.
	events, err := connection.SubscribeSync(prefix + ".events.>")
	if err != nil {
		fail("subscribing: %v", err)
	}
	event := crashEvent(source, false)
	payload, err := proto.Marshal(event)
	if err != nil {
		fail("encoding: %v", err)
	}
	msg := nats.NewMsg(alertSubject)
	msg.Data = payload
	msg.Header.Set(nats.MsgIdHdr, event.EventId)
	if err := connection.PublishMsg(msg); err != nil {
		fail("publishing: %v", err)
	}
	fmt.Printf("published firing on %s; following %s.events.>\n", alertSubject, prefix)

	fingerprint := ""
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		received, err := events.NextMsg(time.Until(deadline))
		if err != nil {
			break
		}
		kind := strings.TrimPrefix(received.Subject, prefix+".events.")
		if strings.HasPrefix(kind, "alert.") {
			var change alertingv1.AlertStateEvent
			if proto.Unmarshal(received.Data, &change) != nil {
				continue
			}
			if change.Labels["source"] != source || change.Labels["alertname"] != event.AlertType {
				continue
			}
			fingerprint = change.Fingerprint
			fmt.Printf("%s %s\n", kind, change.Fingerprint)
			continue
		}
		var outcome alertingv1.NotificationStateEvent
		if fingerprint == "" || proto.Unmarshal(received.Data, &outcome) != nil {
			continue
		}
		for _, carried := range outcome.Fingerprints {
			if carried == fingerprint {
				fmt.Printf("%s %s %s attempts=%d %s\n", kind, outcome.Receiver, outcome.Integration, outcome.Attempts, outcome.Reason)
				return
			}
		}
	}
	fail("no notification outcome for the alert within %s", wait)
}

// crashEvent is the example alert: every field of AlertEvent is set. The
// RESOLVED event carries the same identity (here the dedup_key; without one,
// the same labels) as the FIRING events it ends.
func crashEvent(source string, resolved bool) *alertingv1.AlertEvent {
	status := alertingv1.Status_STATUS_FIRING
	if resolved {
		status = alertingv1.Status_STATUS_RESOLVED
	}
	return &alertingv1.AlertEvent{
		AlertType:   "process_crash",
		Severity:    alertingv1.Severity_SEVERITY_CRITICAL,
		Status:      status,
		Source:      source,
		Summary:     "Worker crashed 3 times in 10 minutes",
		Description: "The simulation worker exited with SIGSEGV while stepping environment 3; the supervisor restarted it.",
		Labels:      map[string]string{"cluster": "train-a", "environment": "3"},
		Annotations: map[string]string{
			"runbook_url": "https://runbooks.example/process_crash",
			"last_signal": "SIGSEGV",
		},
		OccurredAtUnixMs: time.Now().UnixMilli(),
		// One-field oneofs (proto3 optional): set through their wrapper types.
		CurrentValuePresence:   &alertingv1.AlertEvent_CurrentValue{CurrentValue: 3},
		ThresholdValuePresence: &alertingv1.AlertEvent_ThresholdValue{ThresholdValue: 1},
		IterationPresence:      &alertingv1.AlertEvent_Iteration{Iteration: 120000},
		DedupKey:               source + "/process_crash",
		EventId:                newUUID(),
		GeneratorUrl:           "https://grafana.example/d/workers?var-source=" + source,
	}
}

// memorySample is an example measurement for nats-alerter's event-stream rules.
func memorySample(source string) *alertingv1.MetricSample {
	return &alertingv1.MetricSample{
		Name:              "memory_percent",
		Value:             91.5,
		Labels:            map[string]string{"worker": "7"},
		IterationPresence: &alertingv1.MetricSample_Iteration{Iteration: 120000},
		OccurredAtUnixMs:  time.Now().UnixMilli(),
		Source:            source,
	}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		fail("random: %v", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func fail(format string, arguments ...any) {
	fmt.Fprintf(os.Stderr, "publish: "+format+"\n", arguments...)
	os.Exit(1)
}
