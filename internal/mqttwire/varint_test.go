package mqttwire

import (
	"bytes"
	"testing"
)

func TestVarintMatchesTheSpecExamples(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []byte
	}{
		{0, []byte{0x00}},
		{127, []byte{0x7f}},
		{128, []byte{0x80, 0x01}},
		{16383, []byte{0xff, 0x7f}},
		{16384, []byte{0x80, 0x80, 0x01}},
		{2097151, []byte{0xff, 0xff, 0x7f}},
		{2097152, []byte{0x80, 0x80, 0x80, 0x01}},
		{268435455, []byte{0xff, 0xff, 0xff, 0x7f}},
	} {
		got := AppendVarint([]byte{0xaa}, tc.n)
		if !bytes.Equal(got[1:], tc.want) || got[0] != 0xaa {
			t.Errorf("AppendVarint(%d) = % x; want aa % x", tc.n, got, tc.want)
		}
		if l := VarintLen(tc.n); l != len(tc.want) {
			t.Errorf("VarintLen(%d) = %d; want %d", tc.n, l, len(tc.want))
		}
	}
}
