package emulator

import (
	"errors"
	"fmt"
	"net/http"
)

// apiError is an error answer in AWS's REST-JSON form: the status, the
// type in x-amzn-ErrorType and the message (plus resourceId and
// resourceArn for ResourceAlreadyExistsException) in the JSON body.
type apiError struct {
	status      int
	typ         string
	msg         string
	resourceID  string
	resourceArn string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.typ, e.msg) }

// invalid is a 400 InvalidRequestException.
func invalid(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "InvalidRequestException", msg: fmt.Sprintf(format, args...)}
}

// notFound is a 404 ResourceNotFoundException.
func notFound(format string, args ...any) *apiError {
	return &apiError{status: http.StatusNotFound, typ: "ResourceNotFoundException", msg: fmt.Sprintf(format, args...)}
}

// registryAPIError maps a registry refusal to AWS's control-plane error;
// anything else is a 500 InternalFailureException.
func registryAPIError(err error) *apiError {
	var re *RegistryError
	if !errors.As(err, &re) {
		return &apiError{status: http.StatusInternalServerError, typ: "InternalFailureException", msg: err.Error()}
	}
	kinds := []struct {
		kind   error
		status int
		typ    string
	}{
		{ErrNotFound, http.StatusNotFound, "ResourceNotFoundException"},
		{ErrAlreadyExists, http.StatusConflict, "ResourceAlreadyExistsException"},
		{ErrDeleteConflict, http.StatusConflict, "DeleteConflictException"},
		{ErrCertificateState, http.StatusNotAcceptable, "CertificateStateException"},
		{ErrVersionConflict, http.StatusConflict, "VersionConflictException"},
		{ErrLimitExceeded, http.StatusGone, "LimitExceededException"},
		{ErrMalformedPolicy, http.StatusBadRequest, "MalformedPolicyException"},
		{ErrInvalidRequest, http.StatusBadRequest, "InvalidRequestException"},
	}
	for _, k := range kinds {
		if errors.Is(err, k.kind) {
			return &apiError{status: k.status, typ: k.typ, msg: re.Message}
		}
	}
	return &apiError{status: http.StatusInternalServerError, typ: "InternalFailureException", msg: re.Message}
}

// shadowAPIError maps a shadow service rejection code to the data plane's
// error type.
func shadowAPIError(code int, msg string) *apiError {
	typ := map[int]string{
		400: "InvalidRequestException",
		401: "UnauthorizedException",
		403: "ForbiddenException",
		404: "ResourceNotFoundException",
		409: "ConflictException",
		413: "RequestEntityTooLargeException",
		415: "UnsupportedDocumentEncodingException",
		429: "ThrottlingException",
		503: "ServiceUnavailableException",
	}[code]
	if typ == "" {
		code, typ = http.StatusInternalServerError, "InternalFailureException"
	}
	return &apiError{status: code, typ: typ, msg: msg}
}
