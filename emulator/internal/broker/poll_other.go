//go:build !linux

package broker

import (
	"errors"
	"net"
)

// Without epoll every connection takes the portable path (serveBlocking).

var errWouldBlock = errors.New("broker: would block")

func readFD(int, []byte) (int, error)  { return 0, errors.ErrUnsupported }
func writeFD(int, []byte) (int, error) { return 0, errors.ErrUnsupported }
func shutdownFD(int)                   {}

// pollFD never takes a socket: there is no poller.
func pollFD(net.Conn) (int, bool) { return -1, false }

type pollState struct{}

type poller struct{}

func newPoller(*Server, int) (*poller, error) { return nil, errors.ErrUnsupported }

func (*poller) add(*Client) {}
func (*poller) stop()       {}

func (c *Client) pollChangedLocked() {}
