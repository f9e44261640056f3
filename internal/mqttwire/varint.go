// Package mqttwire holds the MQTT wire rules that both the emulator's broker
// and the load generator's client encode by hand on their hot paths, where
// the packet codec's general encoder would allocate.
package mqttwire

// AppendVarint appends n as an MQTT variable byte integer (MQTT 5 §1.5.5,
// 3.1.1 §2.2.3): seven bits a byte, least significant first, the high bit
// set on every byte but the last.
func AppendVarint(b []byte, n int) []byte {
	for {
		c := byte(n % 128)
		n /= 128
		if n > 0 {
			c |= 0x80
		}
		b = append(b, c)
		if n == 0 {
			return b
		}
	}
}

// VarintLen is the number of bytes AppendVarint writes for n.
func VarintLen(n int) int {
	switch {
	case n < 128:
		return 1
	case n < 16384:
		return 2
	case n < 2097152:
		return 3
	}
	return 4
}
