package scenario

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// planModel is the message model the plan's numbers rest on, for readers.
const planModel = `Model: the fleet connects before the first phase; in a phase, connects/s are the
reconnects of things that churn or a storm sent away. Each request gets one reply
on the device's connection. An accepted update also publishes update/documents,
and update/delta while desired differs from reported (desired writes); a device
that responds to deltas receives each delta and answers with one reported
update. Observers receive one copy per matching event per thing. Rates are at
each phase's peak; rejections are not planned for.
`

// WriteText writes the plan as a table for people.
func (p *Plan) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %s", p.Scenario)
	if p.Source != "" {
		fmt.Fprintf(&b, " (%s)", p.Source)
	}
	fmt.Fprintf(&b, "\ntarget   %s\n", p.Target)
	fmt.Fprintf(&b, "fleet    %d things, shadows %s, %d subscriptions per device connection\n",
		p.Things, strings.Join(p.Shadows, ", "), p.DeviceSubscriptions)
	fmt.Fprintf(&b, "devices  %d MQTT 5, %d MQTT 3.1.1; %s\n", p.MQTT5, p.MQTT311, p.Session)
	for _, o := range p.Observers {
		fmt.Fprintf(&b, "observer %s: connections %d, subscriptions %d each\n", o.Name, o.Count, o.Subscriptions)
	}
	fmt.Fprintf(&b, "payload  update fields ≤ %d bytes, stored state ≤ %d bytes\n\n", p.UpdateBytes, p.StateBytes)

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	head := []string{"phase", "duration", "connects/s", "requests/s", "per thing/s", "device out/s", "device in/s", "documents/s", "deltas/s"}
	connect := []string{"connect", p.Connect.Duration.Round(time.Millisecond).String(), num(float64(p.Connect.Rate)), "-", "-", "-", "-", "-", "-"}
	for _, o := range p.Observers {
		head = append(head, "observer "+o.Name+" in/s")
		connect = append(connect, "-")
	}
	row(head...)
	row(connect...)
	for _, ph := range p.Phases {
		rate := num(float64(ph.From))
		if ph.From != ph.To {
			rate += "→" + num(float64(ph.To))
		}
		cells := []string{ph.Name, ph.Duration.String(), num(float64(ph.Reconnects)), rate, num(float64(ph.PerThing)),
			num(float64(ph.DeviceOut)), num(float64(ph.DeviceIn)), num(float64(ph.Documents)), num(float64(ph.Deltas))}
		for _, in := range ph.ObserverIn {
			cells = append(cells, num(float64(in)))
		}
		row(cells...)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n" + planModel)
	if len(p.Warnings)+len(p.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range p.Notes {
			b.WriteString("note: " + n + "\n")
		}
		for _, warning := range p.Warnings {
			b.WriteString("warning: " + warning + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// num writes a rate rounded to two decimals, without trailing zeros.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}
