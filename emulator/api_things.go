package emulator

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Page sizes of the listing operations.
const (
	apiMaxPage     = 250
	apiDefaultPage = 50
)

// arn returns the ARN of a resource of the emulator's account and Region:
// thing/NAME, cert/ID, policy/NAME.
func (s *apiServer) arn(resource string) string {
	return "arn:aws:iot:" + s.cfg.Region + ":" + s.cfg.AccountID + ":" + resource
}

// certIDFromARN reads the certificate ID of a certificate ARN of the
// emulator's account and Region.
func (s *apiServer) certIDFromARN(arn string) (string, *apiError) {
	id, ok := strings.CutPrefix(arn, s.arn("cert/"))
	if !ok {
		return "", invalid("principal %q: want a certificate ARN %s", arn, s.arn("cert/CERTIFICATE_ID"))
	}
	if err := checkCertificateID(id); err != nil {
		return "", err
	}
	return id, nil
}

// checkCertificateID applies AWS's shape: 64 hexadecimal characters.
func checkCertificateID(id string) *apiError {
	if len(id) != 64 {
		return invalid("certificateId %q: want 64 hexadecimal characters", id)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return invalid("certificateId %q: want 64 hexadecimal characters", id)
		}
	}
	return nil
}

// pageParams reads a page size parameter (1 to apiMaxPage, default
// apiDefaultPage) and an opaque token naming the last item of the previous
// page.
func pageParams(q, sizeName, tokenName string, rq *apiRequest, maxSize, defSize int) (size int, after string, aerr *apiError) {
	size = defSize
	if v := rq.query.Get(sizeName); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSize {
			return 0, "", invalid("%s %q: want 1 to %d", sizeName, v, maxSize)
		}
		size = n
	}
	if v := rq.query.Get(tokenName); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || !strings.HasPrefix(string(b), q+":") {
			return 0, "", invalid("%s %q is not a token this operation gave", tokenName, v)
		}
		after = strings.TrimPrefix(string(b), q+":")
	}
	return size, after, nil
}

// pageToken is the token of the page after item; op keeps tokens of one
// operation from another's.
func pageToken(op, item string) string {
	return base64.StdEncoding.EncodeToString([]byte(op + ":" + item))
}

// page cuts the sorted keys after "after" to one page and returns the
// token of the next, "" on the last.
func page(op string, keys []string, size int, after string) ([]string, string) {
	start, _ := slices.BinarySearch(keys, after)
	if after != "" && start < len(keys) && keys[start] == after {
		start++
	}
	end := min(start+size, len(keys))
	next := ""
	if end < len(keys) {
		next = pageToken(op, keys[end-1])
	}
	return keys[start:end], next
}

// decodeBody decodes a JSON request body into v; an empty body leaves v.
func decodeBody(rq *apiRequest, v any) *apiError {
	if len(rq.body) == 0 {
		return nil
	}
	if err := json.Unmarshal(rq.body, v); err != nil {
		return invalid("request body is not the JSON this operation takes: %v", err)
	}
	return nil
}

type createThingInput struct {
	ThingTypeName    string `json:"thingTypeName"`
	BillingGroupName string `json:"billingGroupName"`
	AttributePayload *struct {
		Attributes map[string]string `json:"attributes"`
	} `json:"attributePayload"`
}

func (s *apiServer) createThing(rq *apiRequest) (any, *apiError) {
	name := rq.labels[0]
	var in createThingInput
	if aerr := decodeBody(rq, &in); aerr != nil {
		return nil, aerr
	}
	if in.ThingTypeName != "" {
		return nil, notFound("Thing type %s does not exist: the emulator has no thing types", in.ThingTypeName)
	}
	if in.BillingGroupName != "" {
		return nil, notFound("Billing group %s does not exist: the emulator has no billing groups", in.BillingGroupName)
	}
	var attrs map[string]string
	if in.AttributePayload != nil && len(in.AttributePayload.Attributes) > 0 {
		attrs = in.AttributePayload.Attributes
		for k, v := range attrs {
			if aerr := checkAttribute(k, v); aerr != nil {
				return nil, aerr
			}
		}
	}
	t, err := s.reg.CreateThing(name, attrs)
	if err != nil {
		aerr := registryAPIError(err)
		if aerr.typ == "ResourceAlreadyExistsException" {
			aerr.resourceID, aerr.resourceArn = name, s.arn("thing/"+name)
		}
		return nil, aerr
	}
	return map[string]string{"thingName": t.Name, "thingArn": s.arn("thing/" + t.Name), "thingId": t.ID}, nil
}

// checkAttribute applies AWS's attribute name and value patterns.
func checkAttribute(name, value string) *apiError {
	okName := len(name) >= 1 && len(name) <= 128
	for i := 0; okName && i < len(name); i++ {
		okName = isAlnum(name[i]) || strings.IndexByte("_.,@/:#-", name[i]) >= 0
	}
	if !okName {
		return invalid("attribute name %q: want 1-128 characters of [a-zA-Z0-9_.,@/:#-]", name)
	}
	okValue := len(value) <= 800
	for i := 0; okValue && i < len(value); i++ {
		okValue = isAlnum(value[i]) || strings.IndexByte("_.,@/:#=[]-", value[i]) >= 0
	}
	if !okValue {
		return invalid("attribute %s value %q: want at most 800 characters of [a-zA-Z0-9_.,@/:#=[]-]", name, value)
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// thingOrNotFound returns the named thing or AWS's 404.
func (s *apiServer) thingOrNotFound(name string) (Thing, *apiError) {
	if err := validateThingName(name); err != nil {
		return Thing{}, invalid("%v", err)
	}
	t, ok := s.reg.Thing(name)
	if !ok {
		return Thing{}, notFound("Thing %s cannot be found.", name)
	}
	return t, nil
}

func (s *apiServer) describeThing(rq *apiRequest) (any, *apiError) {
	t, aerr := s.thingOrNotFound(rq.labels[0])
	if aerr != nil {
		return nil, aerr
	}
	attrs := t.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	return map[string]any{
		"defaultClientId": t.Name,
		"thingName":       t.Name,
		"thingId":         t.ID,
		"thingArn":        s.arn("thing/" + t.Name),
		"attributes":      attrs,
		"version":         t.Version,
	}, nil
}

func (s *apiServer) deleteThing(rq *apiRequest) (any, *apiError) {
	name := rq.labels[0]
	if err := validateThingName(name); err != nil {
		return nil, invalid("%v", err)
	}
	var expected int64
	if v := rq.query.Get("expectedVersion"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return nil, invalid("expectedVersion %q: want a positive integer", v)
		}
		expected = n
	}
	if err := s.reg.DeleteThing(name, expected); err != nil {
		return nil, registryAPIError(err)
	}
	return nil, nil
}

func (s *apiServer) listThings(rq *apiRequest) (any, *apiError) {
	size, after, aerr := pageParams("things", "maxResults", "nextToken", rq, apiMaxPage, apiDefaultPage)
	if aerr != nil {
		return nil, aerr
	}
	attrName, attrValue := rq.query.Get("attributeName"), rq.query.Get("attributeValue")
	prefix := rq.query.Get("usePrefixAttributeValue") == "true"
	typeName := rq.query.Get("thingTypeName")
	all := s.reg.ThingList()
	byName := make(map[string]Thing, len(all))
	var names []string
	for _, t := range all {
		if typeName != "" {
			continue // the emulator has no thing types
		}
		if attrName != "" {
			v, ok := t.Attributes[attrName]
			if !ok || attrValue != "" && (prefix && !strings.HasPrefix(v, attrValue) || !prefix && v != attrValue) {
				continue
			}
		}
		byName[t.Name] = t
		names = append(names, t.Name)
	}
	pageNames, next := page("things", names, size, after)
	things := make([]map[string]any, 0, len(pageNames))
	for _, n := range pageNames {
		t := byName[n]
		attrs := t.Attributes
		if attrs == nil {
			attrs = map[string]string{}
		}
		things = append(things, map[string]any{"thingName": n, "thingArn": s.arn("thing/" + n), "attributes": attrs, "version": t.Version})
	}
	out := map[string]any{"things": things}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// principal reads the x-amzn-principal header as a certificate ID.
func (s *apiServer) principal(rq *apiRequest) (string, *apiError) {
	p := rq.r.Header.Get("X-Amzn-Principal")
	if p == "" {
		return "", invalid("the x-amzn-principal header is required")
	}
	return s.certIDFromARN(p)
}

func (s *apiServer) attachThingPrincipal(rq *apiRequest) (any, *apiError) {
	thing := rq.labels[0]
	if _, aerr := s.thingOrNotFound(thing); aerr != nil {
		return nil, aerr
	}
	id, aerr := s.principal(rq)
	if aerr != nil {
		return nil, aerr
	}
	switch kind := rq.query.Get("thingPrincipalType"); kind {
	case "", "NON_EXCLUSIVE_THING":
	case "EXCLUSIVE_THING":
		if c, ok := s.reg.Certificate(id); ok && slices.ContainsFunc(c.Things, func(t string) bool { return t != thing }) {
			return nil, invalid("Principal %s is already attached to thing %s; EXCLUSIVE_THING allows one thing", s.arn("cert/"+id), c.Thing)
		}
	default:
		return nil, invalid("thingPrincipalType %q: want EXCLUSIVE_THING or NON_EXCLUSIVE_THING", kind)
	}
	if err := s.reg.AttachThingPrincipal(thing, id); err != nil {
		return nil, registryAPIError(err)
	}
	return nil, nil
}

func (s *apiServer) detachThingPrincipal(rq *apiRequest) (any, *apiError) {
	thing := rq.labels[0]
	if err := validateThingName(thing); err != nil {
		return nil, invalid("%v", err)
	}
	id, aerr := s.principal(rq)
	if aerr != nil {
		return nil, aerr
	}
	if err := s.reg.DetachThingPrincipal(thing, id); err != nil {
		return nil, registryAPIError(err)
	}
	return nil, nil
}

func (s *apiServer) listThingPrincipals(rq *apiRequest) (any, *apiError) {
	t, aerr := s.thingOrNotFound(rq.labels[0])
	if aerr != nil {
		return nil, aerr
	}
	size, after, aerr := pageParams("principals", "maxResults", "nextToken", rq, apiMaxPage, apiDefaultPage)
	if aerr != nil {
		return nil, aerr
	}
	arns := make([]string, 0, len(t.Certificates))
	for _, id := range t.Certificates {
		arns = append(arns, s.arn("cert/"+id))
	}
	slices.Sort(arns)
	pageARNs, next := page("principals", arns, size, after)
	out := map[string]any{"principals": pageARNs}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *apiServer) listPrincipalThings(rq *apiRequest) (any, *apiError) {
	id, aerr := s.principal(rq)
	if aerr != nil {
		return nil, aerr
	}
	c, ok := s.reg.Certificate(id)
	if !ok {
		return nil, notFound("Certificate %s does not exist", id)
	}
	size, after, aerr := pageParams("principal-things", "maxResults", "nextToken", rq, apiMaxPage, apiDefaultPage)
	if aerr != nil {
		return nil, aerr
	}
	things := slices.Sorted(slices.Values(c.Things))
	pageThings, next := page("principal-things", things, size, after)
	out := map[string]any{"things": pageThings}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *apiServer) describeEndpoint(rq *apiRequest) (any, *apiError) {
	switch t := rq.query.Get("endpointType"); t {
	case "", "iot:Data", "iot:Data-ATS":
		return map[string]string{"endpointAddress": s.mqttAddr}, nil
	case "iot:CredentialProvider", "iot:Jobs":
		return nil, invalid("endpointType %s: the emulator serves only the data endpoint (iot:Data-ATS)", t)
	default:
		return nil, invalid("endpointType %q: want iot:Data-ATS, iot:Data, iot:CredentialProvider or iot:Jobs", t)
	}
}
