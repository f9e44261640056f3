package awsdata

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/smithy-go"
)

// APIError is an error answer of the data plane.
type APIError struct {
	// Op is the operation, e.g. GetThingShadow.
	Op string
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is AWS's error type, e.g. ResourceNotFoundException; when the
	// answer names none, the HTTP status text.
	Code string
	// Message is the error's message.
	Message string
	// RequestID is the x-amzn-RequestId of the answer, if any.
	RequestID string
}

var _ smithy.APIError = (*APIError)(nil)

func (e *APIError) Error() string {
	s := fmt.Sprintf("awsdata: %s: %d %s: %s", e.Op, e.StatusCode, e.Code, e.Message)
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// ErrorCode returns the error type.
func (e *APIError) ErrorCode() string { return e.Code }

// ErrorMessage returns the message.
func (e *APIError) ErrorMessage() string { return e.Message }

// ErrorFault says whether the client or the server is at fault.
func (e *APIError) ErrorFault() smithy.ErrorFault {
	if e.StatusCode >= 500 {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

// HTTPStatusCode returns the status, which the SDK's retryer looks at.
func (e *APIError) HTTPStatusCode() int { return e.StatusCode }

// parseError reads an error answer as the SDK does: the type from
// x-amzn-ErrorType (cut at the first ':'), else from the body's code,
// Code or __type (after a '#'); the message from message or Message.
func parseError(op string, resp *http.Response, body []byte) *APIError {
	e := &APIError{Op: op, StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Amzn-Requestid")}
	var doc map[string]any
	_ = json.Unmarshal(body, &doc)
	field := func(names ...string) string {
		for k, v := range doc {
			for _, n := range names {
				if strings.EqualFold(k, n) {
					if s, ok := v.(string); ok {
						return s
					}
				}
			}
		}
		return ""
	}
	code := resp.Header.Get("X-Amzn-Errortype")
	if code == "" {
		code = field("code", "__type")
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = strings.ReplaceAll(http.StatusText(resp.StatusCode), " ", "")
	}
	e.Code = code
	e.Message = field("message")
	if e.Message == "" && doc == nil {
		e.Message = strings.TrimSpace(string(body))
	}
	return e
}
