package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Event stream pacing: a comment line keeps idle streams open through
// proxies, and each write must reach the client within writeTimeout.
const keepAliveEvery = 15 * time.Second

// events is "/events": server-sent events for a page, those about
// ?thing= (its shadows, its client ID's and its certificates' lifecycle
// events) or ?cert= (its connections).
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var want func(event) bool
	switch {
	case q.Get("thing") != "":
		thing := q.Get("thing")
		certs := map[string]bool{}
		if t, ok := c.em.Registry().Thing(thing); ok {
			for _, id := range t.Certificates {
				certs[id] = true
			}
		}
		want = func(ev event) bool { return ev.Thing == thing || ev.Kind == "presence" && certs[ev.Principal] }
	case q.Get("cert") != "":
		cert := q.Get("cert")
		want = func(ev event) bool { return ev.Kind == "presence" && ev.Principal == cert }
	default:
		want = func(event) bool { return true }
	}
	sub := c.hub.subscribe(want)
	if sub == nil {
		http.Error(w, "too many event streams", http.StatusServiceUnavailable)
		return
	}
	defer c.hub.unsubscribe(sub)
	stream(w, r, func(send func(name string, data []byte) error) error {
		for {
			select {
			case ev, ok := <-sub.ch:
				if !ok {
					return nil
				}
				b, _ := json.Marshal(ev)
				if err := send(ev.Kind, b); err != nil {
					return err
				}
			case <-sub.lost:
				if err := send("lost", []byte("{}")); err != nil {
					return err
				}
			case <-r.Context().Done():
				return nil
			}
		}
	})
}

// stream serves a server-sent event stream: run writes events with send
// until it returns; comments keep the stream open in between, and each
// write has writeTimeout to reach the client.
func stream(w http.ResponseWriter, r *http.Request, run func(send func(name string, data []byte) error) error) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	write := func(s string) error {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := fmt.Fprint(w, s); err != nil {
			return err
		}
		return rc.Flush()
	}
	if write(": open\n\n") != nil {
		return
	}
	stop := make(chan struct{})
	defer close(stop)
	var mu sync.Mutex
	go func() {
		t := time.NewTicker(keepAliveEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				mu.Lock()
				err := write(": keep-alive\n\n")
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}
	}()
	_ = run(func(name string, data []byte) error {
		mu.Lock()
		defer mu.Unlock()
		return write("event: " + name + "\ndata: " + string(data) + "\n\n")
	})
}
