package mqttc

import (
	"bytes"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

func TestPublishRoundTripsThroughTheCodec(t *testing.T) {
	for _, v5 := range []bool{false, true} {
		for _, qos := range []byte{0, 1} {
			b := appendPublish(nil, v5, qos, 513, "$aws/things/t/shadow/update", []byte(`{"a":1}`))
			version := byte(MQTT311)
			if v5 {
				version = MQTT5
			}
			// mochi's decoder, the emulator's, reads what we wrote.
			pk := packets.Packet{ProtocolVersion: version}
			fh, body, size, ok, err := frame(b)
			if err != nil || !ok || size != len(b) {
				t.Fatalf("v5 %v qos %d: frame %v %v %d of %d", v5, qos, ok, err, size, len(b))
			}
			pk.FixedHeader = fh
			if err := pk.PublishDecode(body); err != nil {
				t.Fatal(err)
			}
			if pk.TopicName != "$aws/things/t/shadow/update" || string(pk.Payload) != `{"a":1}` || pk.FixedHeader.Qos != qos || (qos == 1 && pk.PacketID != 513) {
				t.Errorf("v5 %v qos %d: decoded %q %q qos %d id %d", v5, qos, pk.TopicName, pk.Payload, pk.FixedHeader.Qos, pk.PacketID)
			}
			// And we read what mochi's encoder writes, properties included.
			out := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos}, ProtocolVersion: version,
				TopicName: "x/y", Payload: []byte("p"), PacketID: 9}
			out.Properties.ContentType = "application/json"
			var enc bytes.Buffer
			if err := out.PublishEncode(&enc); err != nil {
				t.Fatal(err)
			}
			fh, body, _, _, _ = frame(enc.Bytes())
			topic, id, payload, err := parsePublish(fh, body, v5)
			if err != nil || topic != "x/y" || string(payload) != "p" || (qos == 1 && id != 9) {
				t.Errorf("v5 %v qos %d: parsed %q %q id %d err %v", v5, qos, topic, payload, id, err)
			}
		}
	}
}

func TestReaderReadsWholePacketsAcrossReadsWithoutAllocating(t *testing.T) {
	var stream []byte
	for i := 0; i < 50; i++ {
		stream = appendPublish(stream, true, 1, uint16(i+1), "a/b", bytes.Repeat([]byte("z"), 300))
	}
	src := &chunked{data: stream, chunk: 7}
	r := reader{src: src, buf: make([]byte, 0, readBufferSize)}
	n := 0
	allocs := testing.AllocsPerRun(1, func() {
		for {
			fh, body, err := r.next()
			if err != nil {
				return
			}
			if _, id, payload, err := parsePublish(fh, body, true); err != nil || int(id) != n+1 || len(payload) != 300 {
				t.Fatalf("packet %d: id %d, %d bytes, %v", n, id, len(payload), err)
			}
			n++
			r.release()
		}
	})
	if n != 50 {
		t.Fatalf("read %d packets, want 50", n)
	}
	if allocs > 0 && !raceDetector {
		t.Errorf("reading 50 packets allocated %.0f times", allocs)
	}
}

// chunked hands out its data a few bytes per read.
type chunked struct {
	data  []byte
	chunk int
}

func (c *chunked) Read(b []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, errEOFForTest
	}
	n := copy(b[:min(len(b), c.chunk)], c.data)
	c.data = c.data[n:]
	return n, nil
}

var errEOFForTest = bytes.ErrTooLarge

func FuzzFrame(f *testing.F) {
	f.Add(appendPublish(nil, true, 1, 1, "a/b", []byte("x")), true)
	f.Add(appendPublish(nil, false, 0, 0, "", nil), false)
	f.Add([]byte{0x30, 0xff, 0xff, 0xff, 0x7f}, true)
	f.Add([]byte{0x32, 3, 0, 9, 'a'}, false)
	f.Fuzz(func(t *testing.T, b []byte, v5 bool) {
		fh, body, size, ok, err := frame(b)
		if err != nil || !ok {
			return
		}
		if size > len(b) || len(body) != fh.Remaining {
			t.Fatalf("frame of %d bytes: size %d, body %d, remaining %d", len(b), size, len(body), fh.Remaining)
		}
		if fh.Type == packets.Publish {
			_, _, payload, err := parsePublish(fh, body, v5)
			if err == nil && len(payload) > len(body) {
				t.Fatal("payload beyond the body")
			}
		}
	})
}
