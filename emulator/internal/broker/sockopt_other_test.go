//go:build !unix

package broker

// setRcvBuf leaves the receive buffer as it is where there is no portable
// way to set it.
func setRcvBuf(uintptr, int) error { return nil }
