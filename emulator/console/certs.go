package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/shadowload/shadowload/emulator"
)

// certificateData is what the certificate page shows.
type certificateData struct {
	Title       string
	Cert        certView
	PEM         string
	Connections []presenceState
	Console     bool
	Message     string
	Error       string
}

func (c *Console) certificatePage(id string) (certificateData, bool) {
	ct, ok := c.em.Registry().Certificate(id)
	if !ok {
		return certificateData{}, false
	}
	conns := c.watch.byPrincipal(id, 100)
	slices.SortFunc(conns, func(a, b presenceState) int { return strings.Compare(a.ClientID, b.ClientID) })
	return certificateData{Title: "Certificate " + shortID(id), Cert: certViewOf(ct), PEM: string(ct.PEM),
		Connections: conns, Console: slices.Contains(ct.Policies, PolicyName)}, true
}

// certificate is "/certificates/{id}".
func (c *Console) certificate(w http.ResponseWriter, r *http.Request) {
	d, ok := c.certificatePage(r.PathValue("id"))
	if !ok {
		notFound(w, "certificate "+r.PathValue("id"))
		return
	}
	d.Message = r.URL.Query().Get("done")
	c.render(w, http.StatusOK, "certificate", "", d)
}

// certificateLive is the certificate page's live part.
func (c *Console) certificateLive(w http.ResponseWriter, r *http.Request) {
	d, ok := c.certificatePage(r.PathValue("id"))
	if !ok {
		notFound(w, "certificate "+r.PathValue("id"))
		return
	}
	c.render(w, http.StatusOK, "certificate", "live", d)
}

// setStatus activates, deactivates or revokes a certificate, as
// UpdateCertificate does: the live connections of a certificate that
// leaves ACTIVE are closed by the emulator.
func (c *Console) setStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	status := emulator.CertStatus(r.PostForm.Get("status"))
	err := c.em.Registry().UpdateCertificateStatus(id, status)
	if err != nil {
		d, ok := c.certificatePage(id)
		if !ok {
			notFound(w, "certificate "+id)
			return
		}
		d.Error = err.Error()
		code := http.StatusBadRequest
		if errors.Is(err, emulator.ErrCertificateState) {
			code = http.StatusConflict
		}
		c.render(w, code, "certificate", "", d)
		return
	}
	http.Redirect(w, r, "/certificates/"+url.PathEscape(id)+"?done="+url.QueryEscape("status set to "+string(status)), http.StatusSeeOther)
}
