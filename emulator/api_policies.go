package emulator

import (
	"slices"
	"strconv"
	"strings"
)

// policyVersion is the only version of a policy the emulator keeps: the
// one CreatePolicy makes.
const policyVersion = "1"

type createPolicyInput struct {
	PolicyDocument *string `json:"policyDocument"`
}

// policyNameOf checks the URI's policy name.
func policyNameOf(rq *apiRequest) (string, *apiError) {
	name := rq.labels[0]
	if err := validatePolicyName(name); err != nil {
		return "", invalid("%v", err)
	}
	return name, nil
}

func (s *apiServer) createPolicy(rq *apiRequest) (any, *apiError) {
	name, aerr := policyNameOf(rq)
	if aerr != nil {
		return nil, aerr
	}
	var in createPolicyInput
	if aerr := decodeBody(rq, &in); aerr != nil {
		return nil, aerr
	}
	if in.PolicyDocument == nil || strings.TrimSpace(*in.PolicyDocument) == "" {
		return nil, invalid("policyDocument is required")
	}
	p, err := s.reg.CreatePolicy(name, *in.PolicyDocument)
	if err != nil {
		aerr := registryAPIError(err)
		if aerr.typ == "ResourceAlreadyExistsException" {
			aerr.resourceID, aerr.resourceArn = name, s.arn("policy/"+name)
		}
		return nil, aerr
	}
	return map[string]string{
		"policyName":      p.Name,
		"policyArn":       s.arn("policy/" + p.Name),
		"policyDocument":  p.Document,
		"policyVersionId": policyVersion,
	}, nil
}

func (s *apiServer) getPolicy(rq *apiRequest) (any, *apiError) {
	name, aerr := policyNameOf(rq)
	if aerr != nil {
		return nil, aerr
	}
	p, ok := s.reg.PolicyInfo(name)
	if !ok {
		return nil, notFound("Policy not found (name=%s)", name)
	}
	return map[string]any{
		"policyName":       p.Name,
		"policyArn":        s.arn("policy/" + p.Name),
		"policyDocument":   p.Document,
		"defaultVersionId": policyVersion,
		"creationDate":     epochSeconds(p.Created),
		"lastModifiedDate": epochSeconds(p.Modified),
		"generationId":     generationID(p.Name, p.Modified.Unix()),
	}, nil
}

// generationID is a stable identifier of a policy's current contents.
func generationID(name string, modified int64) string {
	return derivedThingID("policy\x00" + name + "\x00" + strconv.FormatInt(modified, 10))
}

func (s *apiServer) deletePolicy(rq *apiRequest) (any, *apiError) {
	name, aerr := policyNameOf(rq)
	if aerr != nil {
		return nil, aerr
	}
	if err := s.reg.DeletePolicy(name); err != nil {
		return nil, registryAPIError(err)
	}
	return nil, nil
}

type policyTargetInput struct {
	Target string `json:"target"`
}

// policyTarget reads the policy name and the target certificate of
// AttachPolicy and DetachPolicy.
func (s *apiServer) policyTarget(rq *apiRequest) (name, certID string, aerr *apiError) {
	if name, aerr = policyNameOf(rq); aerr != nil {
		return "", "", aerr
	}
	var in policyTargetInput
	if aerr := decodeBody(rq, &in); aerr != nil {
		return "", "", aerr
	}
	if in.Target == "" {
		return "", "", invalid("target is required: a certificate ARN")
	}
	if certID, aerr = s.certIDFromARN(in.Target); aerr != nil {
		return "", "", aerr
	}
	return name, certID, nil
}

func (s *apiServer) attachPolicy(rq *apiRequest) (any, *apiError) {
	name, certID, aerr := s.policyTarget(rq)
	if aerr != nil {
		return nil, aerr
	}
	if err := s.reg.AttachPolicy(name, certID); err != nil {
		return nil, registryAPIError(err)
	}
	return nil, nil
}

func (s *apiServer) detachPolicy(rq *apiRequest) (any, *apiError) {
	name, certID, aerr := s.policyTarget(rq)
	if aerr != nil {
		return nil, aerr
	}
	if err := s.reg.DetachPolicy(name, certID); err != nil {
		return nil, registryAPIError(err)
	}
	return nil, nil
}

func (s *apiServer) listAttachedPolicies(rq *apiRequest) (any, *apiError) {
	certID, aerr := s.certIDFromARN(rq.labels[0])
	if aerr != nil {
		return nil, aerr
	}
	c, ok := s.reg.Certificate(certID)
	if !ok {
		return nil, notFound("Certificate %s does not exist", certID)
	}
	size, after, aerr := pageParams("attached-policies", "pageSize", "marker", rq, apiMaxPage, apiDefaultPage)
	if aerr != nil {
		return nil, aerr
	}
	names := slices.Sorted(slices.Values(c.Policies))
	pageNames, next := page("attached-policies", names, size, after)
	policies := make([]map[string]string, 0, len(pageNames))
	for _, n := range pageNames {
		policies = append(policies, map[string]string{"policyName": n, "policyArn": s.arn("policy/" + n)})
	}
	out := map[string]any{"policies": policies}
	if next != "" {
		out["nextMarker"] = next
	}
	return out, nil
}
