package emulator

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Signing names each plane accepts in a SigV4 credential scope: today's
// SDKs sign the control plane "iot", CLI 2.9.19 and older SDKs
// "execute-api"; the data plane is signed "iotdata", and the shadow REST
// documentation says "iotdevicegateway".
var (
	controlSigningNames = []string{"iot", "execute-api"}
	dataSigningNames    = []string{"iotdata", "iotdevicegateway"}
)

// amzDateFormat is the layout of X-Amz-Date.
const amzDateFormat = "20060102T150405Z"

// msgSignatureMismatch is AWS's text for a signature that does not verify.
const msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// sigv4Auth is a parsed Authorization header.
type sigv4Auth struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

// parseAuthorization reads "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/
// SERVICE/aws4_request, SignedHeaders=a;b, Signature=HEX".
func parseAuthorization(h string) (sigv4Auth, string) {
	var a sigv4Auth
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !ok {
		return a, "Authorization header requires the AWS4-HMAC-SHA256 algorithm."
	}
	var cred, signed, sig string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			sig = v
		}
	}
	if cred == "" || signed == "" || sig == "" {
		return a, "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization=" + h
	}
	scope := strings.Split(cred, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return a, "Credential should be scoped to a valid scope: AKID/YYYYMMDD/REGION/SERVICE/aws4_request, not '" + cred + "'."
	}
	a = sigv4Auth{accessKey: scope[0], date: scope[1], region: scope[2], service: scope[3],
		signedHeaders: strings.Split(signed, ";"), signature: sig}
	return a, ""
}

// verifySigV4 checks the request's SigV4 signature for plane (whose
// signing names it accepts) by recomputing it with the SDK's signer over a
// copy of the request holding only the headers the client signed. It
// returns nil or the error AWS gives.
func (s *apiServer) verifySigV4(r *http.Request, body []byte, data bool) *apiError {
	deny := func(typ, msg string) *apiError {
		if data {
			// The data endpoint answers every authentication failure 403
			// ForbiddenException.
			return &apiError{status: http.StatusForbidden, typ: "ForbiddenException", msg: msg}
		}
		status := http.StatusForbidden
		if typ == "IncompleteSignatureException" {
			status = http.StatusBadRequest
		}
		return &apiError{status: status, typ: typ, msg: msg}
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return deny("MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	auth, bad := parseAuthorization(h)
	if bad != "" {
		return deny("IncompleteSignatureException", bad)
	}
	if auth.accessKey != s.cfg.APIAccessKeyID {
		return deny("UnrecognizedClientException", "The security token included in the request is invalid.")
	}
	names := controlSigningNames
	if data {
		names = dataSigningNames
	}
	if !slices.Contains(names, auth.service) {
		return deny("InvalidSignatureException", "Credential should be scoped to correct service: '"+names[0]+"'. ")
	}
	if auth.region != s.cfg.Region {
		return deny("InvalidSignatureException", "Credential should be scoped to a valid region, not '"+auth.region+"'. ")
	}
	if !slices.Contains(auth.signedHeaders, "host") || !slices.Contains(auth.signedHeaders, "x-amz-date") {
		return deny("IncompleteSignatureException", "SignedHeaders must include host and x-amz-date.")
	}
	amzDate := r.Header.Get("X-Amz-Date")
	signed, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return deny("IncompleteSignatureException", "X-Amz-Date '"+amzDate+"' is not in the format YYYYMMDD'T'HHMMSS'Z'.")
	}
	if auth.date != amzDate[:8] {
		return deny("InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '"+auth.date+"' != '"+amzDate[:8]+"', from '"+amzDate+"'.")
	}
	now := s.now().UTC()
	skew := s.cfg.APIClockSkew
	switch {
	case signed.Before(now.Add(-skew)):
		return deny("InvalidSignatureException", "Signature expired: "+amzDate+" is now earlier than "+
			now.Add(-skew).Format(amzDateFormat)+" ("+now.Format(amzDateFormat)+" - "+skew.String()+".)")
	case signed.After(now.Add(skew)):
		return deny("InvalidSignatureException", "Signature not yet current: "+amzDate+" is still later than "+
			now.Add(skew).Format(amzDateFormat)+" ("+now.Format(amzDateFormat)+" + "+skew.String()+".)")
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if claimed := r.Header.Get("X-Amz-Content-Sha256"); claimed != "" && claimed != payloadHash {
		if claimed != "UNSIGNED-PAYLOAD" {
			return deny("InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
		payloadHash = claimed
	}
	want, err := s.recomputeAuthorization(r, auth, payloadHash, len(body), signed)
	if err != nil || !hmac.Equal([]byte(want), []byte(h)) {
		return deny("InvalidSignatureException", msgSignatureMismatch)
	}
	return nil
}

// recomputeAuthorization signs a copy of r made of its method, URL, host
// and the headers auth names, and returns the Authorization header the
// SDK's signer gives it.
func (s *apiServer) recomputeAuthorization(r *http.Request, auth sigv4Auth, payloadHash string, bodyLen int, signed time.Time) (string, error) {
	u := *r.URL
	u.Scheme, u.Host = "https", r.Host
	req := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	token := ""
	for _, name := range auth.signedHeaders {
		switch name {
		case "host", "x-amz-date":
			// The signer writes these itself.
		case "content-length":
			req.ContentLength = int64(bodyLen)
		case "x-amz-security-token":
			token = r.Header.Get(name)
		default:
			if vs, ok := r.Header[http.CanonicalHeaderKey(name)]; ok {
				req.Header[http.CanonicalHeaderKey(name)] = vs
			} else {
				req.Header.Set(name, "")
			}
		}
	}
	creds := aws.Credentials{AccessKeyID: s.cfg.APIAccessKeyID, SecretAccessKey: s.cfg.APISecretAccessKey, SessionToken: token}
	err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, auth.service, auth.region, signed)
	return req.Header.Get("Authorization"), err
}
