package emulator

import (
	"crypto/x509"
	"encoding/pem"
	"slices"
	"time"
)

// awsCertificateCommonName is the subject of the certificates
// CreateKeysAndCertificate makes, as AWS's.
const awsCertificateCommonName = "AWS IoT Certificate"

// epochSeconds is a time as AWS's JSON timestamps give it: a number of
// seconds since the Unix epoch, with milliseconds.
func epochSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func (s *apiServer) createKeysAndCertificate(rq *apiRequest) (any, *apiError) {
	status := StatusInactive
	switch v := rq.query.Get("setAsActive"); v {
	case "true":
		status = StatusActive
	case "", "false":
	default:
		return nil, invalid("setAsActive %q: want true or false", v)
	}
	id, err := s.ca.Issue(awsCertificateCommonName, s.cfg.APIKeyType)
	if err != nil {
		return nil, &apiError{status: 500, typ: "InternalFailureException", msg: err.Error()}
	}
	c, err := s.reg.AddCertificate(id.CertPEM, status)
	if err != nil {
		return nil, registryAPIError(err)
	}
	return map[string]any{
		"certificateArn": s.arn("cert/" + c.ID),
		"certificateId":  c.ID,
		"certificatePem": string(id.CertPEM),
		"keyPair":        map[string]string{"PublicKey": string(id.PublicKeyPEM), "PrivateKey": string(id.KeyPEM)},
	}, nil
}

// certificateOrNotFound returns the certificate of the URI's label.
func (s *apiServer) certificateOrNotFound(id string) (Certificate, *apiError) {
	if aerr := checkCertificateID(id); aerr != nil {
		return Certificate{}, aerr
	}
	c, ok := s.reg.Certificate(id)
	if !ok {
		return Certificate{}, notFound("Certificate %s does not exist", id)
	}
	return c, nil
}

func (s *apiServer) describeCertificate(rq *apiRequest) (any, *apiError) {
	c, aerr := s.certificateOrNotFound(rq.labels[0])
	if aerr != nil {
		return nil, aerr
	}
	d := map[string]any{
		"certificateArn":   s.arn("cert/" + c.ID),
		"certificateId":    c.ID,
		"status":           c.Status,
		"certificatePem":   string(c.PEM),
		"ownedBy":          s.cfg.AccountID,
		"creationDate":     epochSeconds(c.Created),
		"lastModifiedDate": epochSeconds(c.Modified),
		"customerVersion":  1,
		"transferData":     map[string]any{},
		"generationId":     c.ID[:8] + "-" + c.ID[8:12] + "-" + c.ID[12:16] + "-" + c.ID[16:20] + "-" + c.ID[20:32],
		"certificateMode":  "DEFAULT",
	}
	if block, _ := pem.Decode(c.PEM); block != nil {
		if cert, err := x509.ParseCertificate(block.Bytes); err == nil {
			d["validity"] = map[string]float64{"notBefore": epochSeconds(cert.NotBefore), "notAfter": epochSeconds(cert.NotAfter)}
		}
	}
	return map[string]any{"certificateDescription": d}, nil
}

func (s *apiServer) updateCertificate(rq *apiRequest) (any, *apiError) {
	id := rq.labels[0]
	if aerr := checkCertificateID(id); aerr != nil {
		return nil, aerr
	}
	status := CertStatus(rq.query.Get("newStatus"))
	switch status {
	case "":
		return nil, invalid("newStatus is required: ACTIVE, INACTIVE or REVOKED")
	case StatusPendingTransfer, StatusPendingActivation, StatusRegisterInactive:
		return nil, invalid("newStatus %s is an internal status AWS sets itself; use ACTIVE, INACTIVE or REVOKED", status)
	}
	if err := s.reg.UpdateCertificateStatus(id, status); err != nil {
		return nil, registryAPIError(err)
	}
	return nil, nil
}

func (s *apiServer) deleteCertificate(rq *apiRequest) (any, *apiError) {
	id := rq.labels[0]
	if aerr := checkCertificateID(id); aerr != nil {
		return nil, aerr
	}
	force := false
	switch v := rq.query.Get("forceDelete"); v {
	case "true":
		force = true
	case "", "false":
	default:
		return nil, invalid("forceDelete %q: want true or false", v)
	}
	if err := s.reg.DeleteCertificate(id, force); err != nil {
		aerr := registryAPIError(err)
		aerr.msg = replaceID(aerr.msg, id, s.arn("cert/"+id))
		return nil, aerr
	}
	return nil, nil
}

// replaceID turns "(arn: ID)" in a registry message into the ARN.
func replaceID(msg, id, arn string) string {
	if i := len(msg) - len("(arn: "+id+")"); i >= 0 && msg[i:] == "(arn: "+id+")" {
		return msg[:i] + "(arn: " + arn + ")"
	}
	return msg
}

func (s *apiServer) listCertificates(rq *apiRequest) (any, *apiError) {
	size, after, aerr := pageParams("certificates", "pageSize", "marker", rq, apiMaxPage, apiDefaultPage)
	if aerr != nil {
		return nil, aerr
	}
	certs := s.reg.CertificateList()
	// The model's member is ascendingOrder, its query parameter
	// isAscendingOrder; newest first without it.
	if rq.query.Get("isAscendingOrder") != "true" {
		slices.Reverse(certs)
	}
	start := 0
	if after != "" {
		start = len(certs)
		for i, c := range certs {
			if c.ID == after {
				start = i + 1
				break
			}
		}
	}
	end := min(start+size, len(certs))
	list := make([]map[string]any, 0, end-start)
	for _, c := range certs[start:end] {
		list = append(list, map[string]any{
			"certificateArn":  s.arn("cert/" + c.ID),
			"certificateId":   c.ID,
			"status":          c.Status,
			"certificateMode": "DEFAULT",
			"creationDate":    epochSeconds(c.Created),
		})
	}
	out := map[string]any{"certificates": list}
	if end < len(certs) {
		out["nextMarker"] = pageToken("certificates", certs[end-1].ID)
	}
	return out, nil
}
