package broker

// DisconnectClient ends the live connection of clientID as AWS IoT's
// DeleteConnection does: an MQTT 5 client is sent DISCONNECT 0x98
// (Administrative action) before its socket closes, the lifecycle hears
// API_INITIATED_DISCONNECT and the Last Will is published unless
// preventWill. With cleanSession a persistent session ends with the
// connection instead of waiting for its resumption; a clean session ends
// either way. It reports whether clientID had a live connection (one not
// already ending), and does not wait for it to close.
func (s *Server) DisconnectClient(clientID string, cleanSession, preventWill bool) bool {
	s.sessMu.Lock()
	sess := s.sessions[clientID]
	s.sessMu.Unlock()
	if sess == nil {
		return false
	}
	sess.mu.Lock()
	c := sess.conn
	if c != nil && cleanSession {
		sess.expiry = 0
	}
	sess.mu.Unlock()
	if c == nil || c.reason.Load() != 0 {
		// No connection, or one already ending.
		return false
	}
	if preventWill {
		c.preventWill.Store(true)
	}
	c.Disconnect(ReasonAPIInitiated, codeAdministrative)
	return true
}
