package console

import (
	"net/http"
	"slices"
)

// policyRow is one policy of the policies list.
type policyRow struct {
	Name         string
	Certificates int
}

// policies is "/policies".
func (c *Console) policies(w http.ResponseWriter, r *http.Request) {
	reg := c.em.Registry()
	count := map[string]int{}
	for _, ct := range reg.CertificateList() {
		for _, p := range ct.Policies {
			count[p]++
		}
	}
	var rows []policyRow
	for _, n := range reg.PolicyNames() {
		rows = append(rows, policyRow{Name: n, Certificates: count[n]})
	}
	c.render(w, http.StatusOK, "policies", "", map[string]any{"Title": "Policies", "Rows": rows})
}

// policyAttachment is one certificate a policy is attached to, with its
// things.
type policyAttachment struct {
	Cert   string
	Status string
	Things []string
}

// policy is "/policies/{name}": the document pretty-printed and where it
// is attached.
func (c *Console) policy(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	reg := c.em.Registry()
	p, ok := reg.PolicyInfo(name)
	if !ok {
		notFound(w, "policy "+name)
		return
	}
	const maxShown = 500
	var att []policyAttachment
	total := 0
	for _, ct := range reg.CertificateList() {
		if !slices.Contains(ct.Policies, name) {
			continue
		}
		total++
		if len(att) < maxShown {
			att = append(att, policyAttachment{Cert: ct.ID, Status: string(ct.Status), Things: ct.Things})
		}
	}
	c.render(w, http.StatusOK, "policy", "", map[string]any{
		"Title": "Policy " + name, "Policy": p, "Document": pretty([]byte(p.Document)),
		"Attached": att, "Total": total, "Truncated": total > len(att),
	})
}
