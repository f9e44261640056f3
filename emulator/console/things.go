package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/shadow"
)

// thingsPerPage is the things list's page size.
const thingsPerPage = 50

// thingRow is one line of the things list.
type thingRow struct {
	Name         string
	Certificates int
	Connection   connView
}

// connView is a client ID's connection state as a page shows it.
type connView struct {
	Known     bool
	Connected bool
	Reason    string
	At        time.Time
	ClientID  string
}

func (c *Console) connection(clientID string) connView {
	st, ok := c.watch.presenceOf(clientID)
	if !ok {
		return connView{ClientID: clientID}
	}
	return connView{Known: true, Connected: st.Connected, Reason: st.Reason, At: st.At, ClientID: clientID}
}

// things is "/": the things, filtered by ?q= (a substring of the name)
// and paged by ?page=.
func (c *Console) things(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	names := c.em.Registry().Things()
	total := len(names)
	if q != "" {
		lq := strings.ToLower(q)
		matched := names[:0:0]
		for _, n := range names {
			if strings.Contains(strings.ToLower(n), lq) {
				matched = append(matched, n)
			}
		}
		names = matched
	}
	pages := max((len(names)+thingsPerPage-1)/thingsPerPage, 1)
	page = min(page, pages)
	from := (page - 1) * thingsPerPage
	shown := names[from:min(from+thingsPerPage, len(names))]
	rows := make([]thingRow, 0, len(shown))
	for _, n := range shown {
		t, ok := c.em.Registry().Thing(n)
		if !ok {
			continue
		}
		rows = append(rows, thingRow{Name: n, Certificates: len(t.Certificates), Connection: c.connection(n)})
	}
	link := func(p int) string {
		v := url.Values{}
		if q != "" {
			v.Set("q", q)
		}
		v.Set("page", strconv.Itoa(p))
		return "/?" + v.Encode()
	}
	data := map[string]any{
		"Title": "Things", "Q": q, "Rows": rows, "Page": page, "Pages": pages,
		"Matched": len(names), "Total": total,
	}
	if page > 1 {
		data["Prev"] = link(page - 1)
	}
	if page < pages {
		data["Next"] = link(page + 1)
	}
	c.render(w, http.StatusOK, "things", "", data)
}

// certView is a certificate as the pages show it.
type certView struct {
	ID       string
	Status   string
	Things   []string
	Policies []string
	Created  time.Time
	Modified time.Time
}

func certViewOf(ct emulator.Certificate) certView {
	return certView{ID: ct.ID, Status: string(ct.Status), Things: ct.Things, Policies: ct.Policies, Created: ct.Created, Modified: ct.Modified}
}

// shadowView is one shadow as the thing page renders it.
type shadowView struct {
	// Name is the shadow's name, "" for the classic shadow.
	Name      string
	Version   int64
	Timestamp time.Time
	State     string
	Metadata  string
	// Desired is the desired section, pretty-printed, for the editor.
	Desired string
}

// shadowOf reads a shadow; ok is false when it does not exist.
func (c *Console) shadowOf(thing, name string) (shadowView, bool) {
	res := c.em.Shadow(shadow.OpGet, thing, name, nil)
	if res.Code != http.StatusOK {
		return shadowView{Name: name}, false
	}
	var doc struct {
		State     json.RawMessage `json:"state"`
		Metadata  json.RawMessage `json:"metadata"`
		Version   int64           `json:"version"`
		Timestamp int64           `json:"timestamp"`
	}
	if json.Unmarshal(res.Body, &doc) != nil {
		return shadowView{Name: name}, false
	}
	var state struct {
		Desired json.RawMessage `json:"desired"`
	}
	_ = json.Unmarshal(doc.State, &state)
	desired := "{}"
	if len(state.Desired) > 0 && string(state.Desired) != "null" {
		desired = pretty(state.Desired)
	}
	return shadowView{Name: name, Version: doc.Version, Timestamp: time.Unix(doc.Timestamp, 0),
		State: pretty(doc.State), Metadata: pretty(doc.Metadata), Desired: desired}, true
}

// thingData is what the thing page shows.
type thingData struct {
	Title        string
	Thing        emulator.Thing
	Certificates []certView
	Policies     []string
	Connection   connView
	Principals   []presenceState
	Shadows      []shadowView
	HasBundle    bool
	Created      bool
	Saved        string
	Error        string
	// Edit is the shadow whose editor shows Error, with the text the
	// user sent.
	Edit, EditText, EditVersion string
}

// thingPage gathers a thing's page; ok is false when it does not exist.
func (c *Console) thingPage(name string) (thingData, bool) {
	reg := c.em.Registry()
	t, ok := reg.Thing(name)
	if !ok {
		return thingData{}, false
	}
	d := thingData{Title: name, Thing: t, Connection: c.connection(name)}
	var policies []string
	for _, id := range t.Certificates {
		ct, ok := reg.Certificate(id)
		if !ok {
			continue
		}
		d.Certificates = append(d.Certificates, certViewOf(ct))
		policies = append(policies, ct.Policies...)
		d.Principals = append(d.Principals, c.watch.byPrincipal(id, 20)...)
	}
	slices.Sort(policies)
	d.Policies = slices.Compact(policies)
	if sv, ok := c.shadowOf(name, ""); ok {
		d.Shadows = append(d.Shadows, sv)
	}
	for _, n := range c.em.NamedShadows(name) {
		if sv, ok := c.shadowOf(name, n); ok {
			d.Shadows = append(d.Shadows, sv)
		}
	}
	_, err := os.Stat(filepath.Join(c.opts.BundlesDir, name, fleet.PrivateKeyFileName))
	d.HasBundle = err == nil
	return d, true
}

// thing is "/things/{thing}".
func (c *Console) thing(w http.ResponseWriter, r *http.Request) {
	d, ok := c.thingPage(r.PathValue("thing"))
	if !ok {
		notFound(w, "thing "+r.PathValue("thing"))
		return
	}
	d.Created = r.URL.Query().Has("created")
	d.Saved = r.URL.Query().Get("saved")
	c.render(w, http.StatusOK, "thing", "", d)
}

// thingLive is the thing page's live part, which its script reloads on
// each event.
func (c *Console) thingLive(w http.ResponseWriter, r *http.Request) {
	d, ok := c.thingPage(r.PathValue("thing"))
	if !ok {
		notFound(w, "thing "+r.PathValue("thing"))
		return
	}
	c.render(w, http.StatusOK, "thing", "live", d)
}

// saveDesired is the shadow editor's save: an update of the desired
// section with the version the editor was loaded at, so a shadow changed
// meanwhile is rejected 409 as AWS rejects it.
func (c *Console) saveDesired(w http.ResponseWriter, r *http.Request) {
	thing := r.PathValue("thing")
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	name, text, ver := r.PostForm.Get("shadow"), r.PostForm.Get("desired"), r.PostForm.Get("version")
	fail := func(status int, msg string) {
		d, ok := c.thingPage(thing)
		if !ok {
			notFound(w, "thing "+thing)
			return
		}
		d.Error, d.Edit, d.EditText, d.EditVersion = msg, name, text, ver
		c.render(w, status, "thing", "", d)
	}
	if name != "" {
		if err := shadow.ValidateShadowName(name); err != nil {
			fail(http.StatusBadRequest, err.Error())
			return
		}
	}
	var desired json.RawMessage
	if err := json.Unmarshal([]byte(text), &desired); err != nil {
		fail(http.StatusBadRequest, "desired is not JSON: "+err.Error())
		return
	}
	req := map[string]any{"state": map[string]any{"desired": desired}}
	if ver != "" {
		v, err := strconv.ParseInt(ver, 10, 64)
		if err != nil || v < 0 {
			fail(http.StatusBadRequest, "version "+strconv.Quote(ver)+" is not a version number")
			return
		}
		req["version"] = v
	}
	body, _ := json.Marshal(req)
	res := c.em.Shadow(shadow.OpUpdate, thing, name, body)
	if res.Code != http.StatusOK {
		fail(res.Code, strconv.Itoa(res.Code)+" "+res.Message)
		return
	}
	var acc struct {
		Version int64 `json:"version"`
	}
	_ = json.Unmarshal(res.Body, &acc)
	label := name
	if label == "" {
		label = "classic"
	}
	http.Redirect(w, r, "/things/"+url.PathEscape(thing)+"?saved="+url.QueryEscape(label+" version "+strconv.FormatInt(acc.Version, 10)), http.StatusSeeOther)
}
