package emulator

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/netutil"

	"github.com/shadowload/shadowload/emulator/internal/broker"
	"github.com/shadowload/shadowload/emulator/internal/shadowsvc"
	"github.com/shadowload/shadowload/fleet"
)

// Bounds of the HTTP API: nothing waits on a slow peer for long and no
// request holds more than a message's worth of memory.
const (
	apiMaxBody        = MaxPayload
	apiMaxHeaderBytes = 64 << 10
	apiMaxConns       = 1024
	apiReadTimeout    = 30 * time.Second
	apiWriteTimeout   = 30 * time.Second
	apiIdleTimeout    = 90 * time.Second
	apiShutdownGrace  = 5 * time.Second
)

// apiServer serves AWS IoT Core's HTTP APIs, the control plane (things,
// certificates, policies, the endpoint) and the data plane (shadows,
// publish), over HTTPS with AWS's URIs, shapes and errors, every request
// checked with SigV4.
type apiServer struct {
	cfg    Config
	reg    *Registry
	ca     *fleet.CA
	shadow *shadowsvc.Service // nil: the data plane's shadow operations fail 503
	broker *broker.Server
	log    *slog.Logger
	// mqttAddr is what DescribeEndpoint returns for the data endpoint.
	mqttAddr string
	quota    *apiQuotas // nil: no control-plane rate quotas
	now      func() time.Time

	srv *http.Server
	ln  net.Listener
	// fresh holds the connections that have not sent a request yet, which
	// close drops at once instead of waiting for them; closing is set
	// when close began.
	connMu  sync.Mutex
	fresh   map[net.Conn]struct{}
	closing bool
}

// apiRequest is one request routed to an operation.
type apiRequest struct {
	r      *http.Request
	labels []string // the URI's labels, unescaped
	query  url.Values
	body   []byte
}

// apiHandler runs one operation. It returns the JSON value to answer with
// (a []byte is sent as it is), or an error.
type apiHandler func(s *apiServer, rq *apiRequest) (any, *apiError)

// startAPIFor starts the API of an emulator whose broker srv listens on
// mqtt and whose shadow service is shadow.
func startAPIFor(e *Emulator, srv *broker.Server, shadow shadowRouter, cert tls.Certificate, mqtt net.Addr) (*apiServer, error) {
	s := &apiServer{cfg: e.cfg, reg: e.reg, ca: e.ca, broker: srv, log: e.cfg.Logger,
		mqttAddr: dataEndpoint(e.cfg, mqtt), now: time.Now}
	if sr, ok := shadow.(serviceRouter); ok {
		s.shadow = sr.svc
	}
	if e.cfg.Limits == LimitsAWS {
		s.quota = newAPIQuotas()
	}
	if err := startAPI(s, cert); err != nil {
		return nil, err
	}
	return s, nil
}

// dataEndpoint is the address DescribeEndpoint gives: Config.DataEndpoint,
// or the MQTT listener's address with an unspecified host made loopback.
func dataEndpoint(cfg Config, mqtt net.Addr) string {
	if cfg.DataEndpoint != "" {
		return cfg.DataEndpoint
	}
	host, port, err := net.SplitHostPort(mqtt.String())
	if err != nil {
		return mqtt.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// APIAddr returns the address the HTTP API listens on, host:port, once
// started; "" when it serves none.
func (e *Emulator) APIAddr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.api == nil {
		return ""
	}
	return e.api.addr()
}

// APIURL returns the HTTP API's base URL, https://host:port, for
// --endpoint-url; "" when it serves none.
func (e *Emulator) APIURL() string {
	if a := e.APIAddr(); a != "" {
		return "https://" + a
	}
	return ""
}

// APICredentials returns the access key ID and secret access key the
// HTTP API accepts.
func (e *Emulator) APICredentials() (accessKeyID, secretAccessKey string) {
	return e.cfg.APIAccessKeyID, e.cfg.APISecretAccessKey
}

// Region returns the emulated account's Region.
func (e *Emulator) Region() string { return e.cfg.Region }

// startAPI listens on cfg.APIListen and serves the API with cert.
func startAPI(s *apiServer, cert tls.Certificate) error {
	ln, err := net.Listen("tcp", s.cfg.APIListen)
	if err != nil {
		return fmt.Errorf("emulator: API listen on %s: %w", s.cfg.APIListen, err)
	}
	s.ln = ln
	s.fresh = map[net.Conn]struct{}{}
	s.srv = &http.Server{
		ConnState:         s.trackConn,
		Handler:           s,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}},
		ReadHeaderTimeout: apiReadTimeout,
		ReadTimeout:       apiReadTimeout,
		WriteTimeout:      apiWriteTimeout,
		IdleTimeout:       apiIdleTimeout,
		MaxHeaderBytes:    apiMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	// HTTP/1.1 only: the AWS clients use it, and an HTTP/2 connection
	// holds Shutdown for a second of GOAWAY grace.
	s.srv.Protocols = new(http.Protocols)
	s.srv.Protocols.SetHTTP1(true)
	go func() {
		err := s.srv.ServeTLS(netutil.LimitListener(ln, apiMaxConns), "", "")
		s.connMu.Lock()
		closing := s.closing
		s.connMu.Unlock()
		if err != nil && !closing && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("API server stopped", "error", err)
		}
	}()
	return nil
}

// trackConn keeps the set of connections that have sent no request yet.
func (s *apiServer) trackConn(c net.Conn, state http.ConnState) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if state == http.StateNew && !s.closing {
		s.fresh[c] = struct{}{}
		return
	}
	delete(s.fresh, c)
	if state == http.StateNew {
		_ = c.Close()
	}
}

// addr is the API's listening address.
func (s *apiServer) addr() string { return s.ln.Addr().String() }

// close stops the API: it stops accepting, drops the connections that
// sent no request (a client's spare ones), and gives requests in flight
// apiShutdownGrace to finish.
func (s *apiServer) close() error {
	s.connMu.Lock()
	s.closing = true
	_ = s.ln.Close()
	for c := range s.fresh {
		_ = c.Close()
	}
	clear(s.fresh)
	s.connMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), apiShutdownGrace)
	defer cancel()
	// The listener is closed already: Shutdown closing it again is no
	// failure.
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
		return errors.Join(fmt.Errorf("emulator: API shutdown: %w", err), s.srv.Close())
	}
	return nil
}

// ServeHTTP routes, reads, authenticates and answers one request.
func (s *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newUUID()
	w.Header().Set("X-Amzn-Requestid", reqID)
	rt, labels, aerr := route(r.Method, r.URL.EscapedPath())
	if aerr != nil {
		s.writeError(w, r, aerr)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, apiMaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.writeError(w, r, &apiError{status: http.StatusRequestEntityTooLarge, typ: "RequestEntityTooLargeException",
				msg: fmt.Sprintf("The request body exceeds the maximum size of %d bytes", apiMaxBody)})
			return
		}
		s.writeError(w, r, invalid("could not read the request body: %v", err))
		return
	}
	if aerr := s.verifySigV4(r, body, rt.data); aerr != nil {
		s.writeError(w, r, aerr)
		return
	}
	if aerr := s.quota.allow(rt.op); aerr != nil {
		s.writeError(w, r, aerr)
		return
	}
	out, aerr := rt.handler(s, &apiRequest{r: r, labels: labels, query: r.URL.Query(), body: body})
	if aerr != nil {
		s.writeError(w, r, aerr)
		return
	}
	s.log.Debug("API request", "op", rt.op, "status", http.StatusOK, "request", reqID)
	w.Header().Set("Content-Type", "application/json")
	if raw, ok := out.([]byte); ok {
		_, _ = w.Write(raw)
		return
	}
	if out == nil {
		out = struct{}{}
	}
	data, err := json.Marshal(out)
	if err != nil {
		s.writeError(w, r, &apiError{status: http.StatusInternalServerError, typ: "InternalFailureException", msg: err.Error()})
		return
	}
	_, _ = w.Write(data)
}

// writeError answers with e in the form every AWS client reads: status,
// "x-amzn-ErrorType: Type:" and {"message": ...}.
func (s *apiServer) writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	s.log.Debug("API request refused", "method", r.Method, "path", r.URL.Path, "status", e.status, "type", e.typ, "message", e.msg)
	body := map[string]string{"message": e.msg}
	if e.resourceID != "" {
		body["resourceId"], body["resourceArn"] = e.resourceID, e.resourceArn
	}
	data, _ := json.Marshal(body)
	w.Header().Set("X-Amzn-Errortype", e.typ+":")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_, _ = w.Write(data)
}

// apiRoute is an operation and where its URI's labels are.
type apiRoute struct {
	op      string
	data    bool // data plane: signed iotdata
	handler apiHandler
}

// apiPath is one URI template: its fixed segments ("" marks a label) and
// the operation of each method.
type apiPath struct {
	segs    []string
	methods map[string]apiRoute
}

// apiPaths are the URI templates of the operations the emulator serves.
var apiPaths = []apiPath{
	{[]string{"things"}, map[string]apiRoute{
		http.MethodGet: {"ListThings", false, (*apiServer).listThings}}},
	{[]string{"things", ""}, map[string]apiRoute{
		http.MethodPost:   {"CreateThing", false, (*apiServer).createThing},
		http.MethodGet:    {"DescribeThing", false, (*apiServer).describeThing},
		http.MethodDelete: {"DeleteThing", false, (*apiServer).deleteThing}}},
	{[]string{"things", "", "principals"}, map[string]apiRoute{
		http.MethodPut:    {"AttachThingPrincipal", false, (*apiServer).attachThingPrincipal},
		http.MethodDelete: {"DetachThingPrincipal", false, (*apiServer).detachThingPrincipal},
		http.MethodGet:    {"ListThingPrincipals", false, (*apiServer).listThingPrincipals}}},
	{[]string{"principals", "things"}, map[string]apiRoute{
		http.MethodGet: {"ListPrincipalThings", false, (*apiServer).listPrincipalThings}}},
	{[]string{"keys-and-certificate"}, map[string]apiRoute{
		http.MethodPost: {"CreateKeysAndCertificate", false, (*apiServer).createKeysAndCertificate}}},
	{[]string{"certificates"}, map[string]apiRoute{
		http.MethodGet: {"ListCertificates", false, (*apiServer).listCertificates}}},
	{[]string{"certificates", ""}, map[string]apiRoute{
		http.MethodGet:    {"DescribeCertificate", false, (*apiServer).describeCertificate},
		http.MethodPut:    {"UpdateCertificate", false, (*apiServer).updateCertificate},
		http.MethodDelete: {"DeleteCertificate", false, (*apiServer).deleteCertificate}}},
	{[]string{"policies", ""}, map[string]apiRoute{
		http.MethodPost:   {"CreatePolicy", false, (*apiServer).createPolicy},
		http.MethodGet:    {"GetPolicy", false, (*apiServer).getPolicy},
		http.MethodDelete: {"DeletePolicy", false, (*apiServer).deletePolicy}}},
	{[]string{"target-policies", ""}, map[string]apiRoute{
		http.MethodPut:  {"AttachPolicy", false, (*apiServer).attachPolicy},
		http.MethodPost: {"DetachPolicy", false, (*apiServer).detachPolicy}}},
	{[]string{"attached-policies", ""}, map[string]apiRoute{
		http.MethodPost: {"ListAttachedPolicies", false, (*apiServer).listAttachedPolicies}}},
	{[]string{"endpoint"}, map[string]apiRoute{
		http.MethodGet: {"DescribeEndpoint", false, (*apiServer).describeEndpoint}}},
	{[]string{"things", "", "shadow"}, map[string]apiRoute{
		http.MethodGet:    {"GetThingShadow", true, (*apiServer).getThingShadow},
		http.MethodPost:   {"UpdateThingShadow", true, (*apiServer).updateThingShadow},
		http.MethodDelete: {"DeleteThingShadow", true, (*apiServer).deleteThingShadow}}},
	{[]string{"api", "things", "shadow", "ListNamedShadowsForThing", ""}, map[string]apiRoute{
		http.MethodGet: {"ListNamedShadowsForThing", true, (*apiServer).listNamedShadows}}},
	{[]string{"topics", ""}, map[string]apiRoute{
		http.MethodPost: {"Publish", true, (*apiServer).publish}}},
	{[]string{"connections", ""}, map[string]apiRoute{
		http.MethodDelete: {"DeleteConnection", true, (*apiServer).deleteConnection}}},
}

// route finds the operation of a method and an escaped path. Each segment
// is unescaped on its own, so an escaped "/" inside a label (a Publish
// topic) stays in the label. A known path with another method is 405
// MethodNotAllowedException; an unknown path 404.
func route(method, escapedPath string) (apiRoute, []string, *apiError) {
	raw := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			return apiRoute{}, nil, invalid("path segment %q is not validly escaped", s)
		}
		segs[i] = u
	}
	for _, p := range apiPaths {
		if len(p.segs) != len(segs) {
			continue
		}
		var labels []string
		match := true
		for i, want := range p.segs {
			switch {
			case want == "":
				if segs[i] == "" {
					match = false
				}
				labels = append(labels, segs[i])
			case want != segs[i]:
				match = false
			}
		}
		if !match {
			continue
		}
		if rt, ok := p.methods[method]; ok {
			return rt, labels, nil
		}
		return apiRoute{}, nil, &apiError{status: http.StatusMethodNotAllowed, typ: "MethodNotAllowedException",
			msg: fmt.Sprintf("The specified combination of HTTP verb %s and URI %s is not supported", method, escapedPath)}
	}
	return apiRoute{}, nil, &apiError{status: http.StatusNotFound, typ: "UnknownOperationException",
		msg: fmt.Sprintf("No operation of AWS IoT served by the emulator has the URI %s %s", method, escapedPath)}
}
