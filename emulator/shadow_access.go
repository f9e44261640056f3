package emulator

import (
	"github.com/shadowload/shadowload/emulator/internal/shadowsvc"
	"github.com/shadowload/shadowload/shadow"
)

// ShadowResult is the outcome of a shadow request made in process: Code 200
// with the accepted document in Body, or the rejection's code and message
// as */rejected carries them (400, 404, 409, 413, 429, 500, 503).
type ShadowResult struct {
	Code    int
	Body    []byte
	Message string
}

// Shadow runs a Device Shadow request on the classic shadow of thing (name
// "") or its named shadow, as the HTTP API's data plane does: an accepted
// update publishes accepted, documents and delta on MQTT like any other.
// Before Start, or once closed, it answers 503.
func (e *Emulator) Shadow(op shadow.Op, thing, name string, payload []byte) ShadowResult {
	svc := e.shadowService()
	if svc == nil {
		return ShadowResult{Code: 503, Message: "The shadow service is not running"}
	}
	res := svc.Serve(op, thing, name, payload)
	return ShadowResult{Code: res.Code, Body: res.Body, Message: res.Message}
}

// NamedShadows returns the names of thing's named shadows, sorted; nil
// before Start.
func (e *Emulator) NamedShadows(thing string) []string {
	svc := e.shadowService()
	if svc == nil {
		return nil
	}
	return svc.NamedShadows(thing)
}

// shadowService is the running shadow service, nil before Start.
func (e *Emulator) shadowService() *shadowsvc.Service {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.aws == nil || e.closed {
		return nil
	}
	if sr, ok := e.aws.shadow.(serviceRouter); ok {
		return sr.svc
	}
	return nil
}
