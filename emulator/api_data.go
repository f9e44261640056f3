package emulator

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/shadowload/shadowload/internal/iotcore"
	"github.com/shadowload/shadowload/shadow"
)

// Page sizes of ListNamedShadowsForThing.
const (
	namedShadowsMaxPage     = 100
	namedShadowsDefaultPage = 25
)

// shadowTarget reads the thing of the URI and the shadow of ?name=.
func shadowTarget(rq *apiRequest) (thing, name string, aerr *apiError) {
	thing = rq.labels[0]
	if err := shadow.ValidateThingName(thing); err != nil {
		return "", "", invalid("%v", err)
	}
	if rq.query.Has("name") {
		name = rq.query.Get("name")
		if err := shadow.ValidateShadowName(name); err != nil {
			return "", "", invalid("%v", err)
		}
	}
	return thing, name, nil
}

// serveShadow runs a REST shadow request in the shadow service.
func (s *apiServer) serveShadow(rq *apiRequest, op shadow.Op) (any, *apiError) {
	thing, name, aerr := shadowTarget(rq)
	if aerr != nil {
		return nil, aerr
	}
	if s.shadow == nil {
		return nil, shadowAPIError(503, "The shadow service is not running")
	}
	res := s.shadow.Serve(op, thing, name, rq.body)
	if res.Code != 200 {
		return nil, shadowAPIError(res.Code, res.Message)
	}
	return res.Body, nil
}

func (s *apiServer) getThingShadow(rq *apiRequest) (any, *apiError) {
	return s.serveShadow(rq, shadow.OpGet)
}

func (s *apiServer) updateThingShadow(rq *apiRequest) (any, *apiError) {
	if len(rq.body) == 0 {
		return nil, shadowAPIError(400, shadow.MsgInvalidJSON)
	}
	return s.serveShadow(rq, shadow.OpUpdate)
}

func (s *apiServer) deleteThingShadow(rq *apiRequest) (any, *apiError) {
	return s.serveShadow(rq, shadow.OpDelete)
}

func (s *apiServer) listNamedShadows(rq *apiRequest) (any, *apiError) {
	thing := rq.labels[0]
	if err := shadow.ValidateThingName(thing); err != nil {
		return nil, invalid("%v", err)
	}
	size, after, aerr := pageParams("named-shadows:"+thing, "pageSize", "nextToken", rq, namedShadowsMaxPage, namedShadowsDefaultPage)
	if aerr != nil {
		return nil, aerr
	}
	if s.shadow == nil {
		return nil, shadowAPIError(503, "The shadow service is not running")
	}
	names, next := page("named-shadows:"+thing, s.shadow.NamedShadows(thing), size, after)
	out := map[string]any{"results": names, "timestamp": s.now().Unix()}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// publish publishes an HTTP message to the broker's subscribers, and hands
// a shadow request topic to the shadow service as an MQTT publish would
// be: the responses go out on MQTT.
func (s *apiServer) publish(rq *apiRequest) (any, *apiError) {
	topic := rq.labels[0]
	if err := iotcore.CheckTopic(topic); err != nil {
		return nil, invalid("topic %q: %v", topic, err)
	}
	if strings.HasPrefix(topic, "$") && !strings.HasPrefix(topic, "$aws/things/") || strings.HasPrefix(topic, eventsPrefix) {
		return nil, &apiError{status: http.StatusForbidden, typ: "ForbiddenException", msg: "Publishing to reserved topic " + topic + " is not allowed"}
	}
	switch q := rq.query.Get("qos"); q {
	case "", "0", "1":
	default:
		return nil, invalid("qos %q: want 0 or 1", q)
	}
	retain, aerr := queryBool(rq, "retain")
	if aerr != nil {
		return nil, aerr
	}
	if retain {
		return nil, invalid("retain=true: the emulator's HTTP Publish does not retain messages; publish retained messages over MQTT")
	}
	payload := append([]byte(nil), rq.body...)
	s.broker.Publish(topic, payload)
	if s.shadow != nil && strings.HasPrefix(topic, "$aws/things/") {
		s.shadow.Handle(nil, topic, rq.body)
	}
	return map[string]string{"message": "OK", "traceId": newUUID()}, nil
}

// queryBool reads an optional boolean query parameter; absent is false.
func queryBool(rq *apiRequest, name string) (bool, *apiError) {
	v := rq.query.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, invalid("%s %q: want true or false", name, v)
	}
	return b, nil
}

// deleteConnection is DeleteConnection: it ends the client's live MQTT
// connection (DISCONNECT 0x98 to an MQTT 5 client, lifecycle reason
// API_INITIATED_DISCONNECT), its Last Will published unless
// preventWillMessage=true, its persistent session kept unless
// cleanSession=true. A client ID with no live connection is 404.
func (s *apiServer) deleteConnection(rq *apiRequest) (any, *apiError) {
	id := rq.labels[0]
	if strings.HasPrefix(id, "$") {
		return nil, invalid("clientId %q: a client ID can't start with a dollar sign ($)", id)
	}
	clean, aerr := queryBool(rq, "cleanSession")
	if aerr != nil {
		return nil, aerr
	}
	preventWill, aerr := queryBool(rq, "preventWillMessage")
	if aerr != nil {
		return nil, aerr
	}
	if !s.broker.DisconnectClient(id, clean, preventWill) {
		return nil, notFound("No connection with client ID %s", id)
	}
	return []byte{}, nil
}
