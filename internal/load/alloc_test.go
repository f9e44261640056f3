package load

import (
	"context"
	"strconv"
	"testing"
)

// nopConn takes every publish and sends nothing back.
type nopConn struct{}

func (nopConn) SessionPresent() bool                                 { return false }
func (nopConn) Subscribe(context.Context, byte, []string) error      { return nil }
func (nopConn) Publish(topic string, qos byte, payload []byte) error { return nil }
func (nopConn) Close() error                                         { return nil }
func (nopConn) Drop() error                                          { return nil }

func TestAnUpdateAndItsReplyAllocateAtMostTheToken(t *testing.T) {
	if raceDetector {
		t.Skip("the race detector allocates behind the code it watches")
	}
	b := newBench(t, 1, true, Config{})
	th := b.w.things[0]
	th.conn = nopConn{}
	handle := th.handler(b.w)
	topic := th.shadows[0].topics[OpUpdate] + "/accepted"
	reply := make([]byte, 0, 256)
	i := int64(0)
	// Warm up: the first records allocate their histograms.
	cycle := func() {
		b.slot(i)
		i++
		req := &th.inflight.slots[0]
		reply = append(reply[:0], `{"state":{"reported":{"seq":1}},"metadata":{"reported":{"seq":{"timestamp":1}}},"version":`...)
		reply = strconv.AppendInt(reply, i, 10)
		reply = append(reply, `,"timestamp":1,"clientToken":"`...)
		reply = appendToken(reply, 0, req.gen)
		reply = append(reply, `"}`...)
		handle(topic, reply)
	}
	for k := 0; k < 3; k++ {
		cycle()
	}
	// The one allocation left is shadow.ParseReply's clientToken, returned
	// as a string.
	if allocs := testing.AllocsPerRun(100, cycle); allocs > 1 {
		t.Errorf("an update and its accepted reply allocate %.1f times, want at most the reply's clientToken", allocs)
	}
	if n := b.report().Latencies["update.accepted"].Count; n < 100 {
		t.Fatalf("%d updates accepted: the replies did not end the requests", n)
	}
}
