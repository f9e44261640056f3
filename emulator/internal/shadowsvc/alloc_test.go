package shadowsvc

import (
	"testing"

	"github.com/shadowload/shadowload/shadow"
)

func TestHandleAllocatesOnlyWhatShadowReturns(t *testing.T) {
	payloads := []string{
		`{"state":{"reported":{"temp":21.5,"on":true}},"clientToken":"bench"}`,
		`{"state":{"desired":{"temp":22},"reported":{"temp":21.5}},"clientToken":"bench"}`,
	}
	for _, p := range payloads {
		payload := []byte(p)
		var sh shadow.Shadow
		sh.Update(payload, epoch, shadow.Limits{})
		direct := testing.AllocsPerRun(200, func() { sh.Update(payload, epoch, shadow.Limits{}) })

		s, err := New(Config{RequestsPerSecond: 1 << 30, InFlightPerConn: 10}, &discard{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var c Conn
		topic := shadowTopic("alloc", "n", "update")
		s.Handle(&c, topic, payload)
		viaService := testing.AllocsPerRun(200, func() { s.Handle(&c, topic, payload) })
		if viaService > direct {
			t.Errorf("%s: Handle allocates %.1f per request, shadow.Update alone %.1f", p, viaService, direct)
		}
	}
}
