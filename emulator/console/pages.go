package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// pages are the page templates, each parsed with the layout.
var pageNames = []string{"things", "thing", "certificate", "policies", "policy", "create", "testclient"}

// parseTemplates parses the layout with each page.
func parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"short": shortID,
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
		"lower":  strings.ToLower,
		"editor": editorOf,
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(webFS, "web/templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(webFS, "web/templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// render writes a page, or one of its named blocks when block is not "".
func (c *Console) render(w http.ResponseWriter, status int, page, block string, data any) {
	t := c.tmpl[page]
	var buf bytes.Buffer
	var err error
	if block == "" {
		err = t.ExecuteTemplate(&buf, "layout.html", data)
	} else {
		err = t.ExecuteTemplate(&buf, block, data)
	}
	if err != nil {
		c.log.Error("console: render", "page", page, "error", err)
		http.Error(w, "internal error rendering "+page, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// notFound renders a plain 404 naming what is missing.
func notFound(w http.ResponseWriter, what string) {
	http.Error(w, what+" not found", http.StatusNotFound)
}

// shortID is a certificate ID's first 12 characters.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// pretty indents a JSON document; anything else is returned as it is.
func pretty(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, bytes.TrimSpace(b), "", "  ") != nil {
		return string(b)
	}
	return out.String()
}

// editorView is one desired-state editor of the thing page.
type editorView struct {
	Thing, Name, Text string
	Version           string
	// Named marks the form that names a new named shadow.
	Named bool
}

// editorOf sets up the editor of shadow name (named: the form for a new
// named shadow) showing the user's text again after a rejected save.
func editorOf(d thingData, name string, version int64, text string) editorView {
	e := editorView{Thing: d.Thing.Name, Name: name, Text: text, Version: strconv.FormatInt(version, 10)}
	if name == "named" {
		e.Name, e.Named = "", true
	}
	if version == 0 {
		e.Version = ""
	}
	if d.Error != "" && d.Edit == e.Name && !e.Named {
		e.Text, e.Version = d.EditText, d.EditVersion
	}
	return e
}
