package ui

import (
	"html/template"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Form errors. A handler puts the API's refusal on the Page (Error, and
// Field when the API named the input at fault); the form's template marks
// each input with {{.Invalid "field" "input-id"}} and puts
// {{template "field-error" (.FieldErr "field" "input-id")}} under it. The
// message then shows next to its input, as a sentence, the input carries
// aria-invalid and aria-describedby and gets the focus; only an error that
// belongs to no input of the page is a banner (Banner, role="alert").
//
// A page with two forms that share a field name qualifies the second one
// ("totp.code"); the handler sets Field the same way (Problem.In).

// Problem is a refusal to show on a form: Field is the input at fault, or
// empty for the whole form.
type Problem struct{ Field, Message string }

// Banner is a problem that belongs to no field.
func Banner(msg string) Problem { return Problem{Message: msg} }

// In qualifies the field with the form it belongs to (see above).
func (p Problem) In(form string) Problem {
	if p.Field != "" {
		p.Field = form + "." + p.Field
	}
	return p
}

// Show puts a problem on the page.
func (p *Page) Show(pr Problem) { p.Error, p.Field = pr.Message, pr.Field }

// FieldErr is the data of the "field-error" partial.
type FieldErr struct{ ID, Message string }

// FieldErr is the message about field, shown under the input with id.
func (p Page) FieldErr(field, id string) FieldErr {
	if p.Error == "" || p.Field != field {
		return FieldErr{}
	}
	return FieldErr{ID: id + "-error", Message: Sentence(field, p.Error)}
}

// Invalid is the attributes of the input with id for field: when the
// error is about it, aria-invalid, aria-describedby pointing at the
// message and autofocus. also are ids the input is described by anyway.
func (p Page) Invalid(field, id string, also ...string) template.HTMLAttr {
	var b strings.Builder
	desc := also
	if p.Error != "" && p.Field == field {
		desc = append([]string{id + "-error"}, also...)
		b.WriteString(` aria-invalid="true" autofocus`)
	}
	if len(desc) > 0 {
		b.WriteString(` aria-describedby="` + template.HTMLEscapeString(strings.Join(desc, " ")) + `"`)
	}
	return template.HTMLAttr(b.String()) // #nosec G203 -- fixed attribute names; the ids are escaped
}

// Banner is the page's error when no input of the page shows it.
func (p Page) Banner() string {
	if p.Error == "" || p.inline {
		return ""
	}
	return Sentence(p.Field, p.Error)
}

// invalidCall finds the fields a page's template can show inline.
var invalidCall = regexp.MustCompile(`\.Invalid "([^"]+)"`)

// formFields lists the fields of a template's source.
func formFields(src string) map[string]bool {
	f := map[string]bool{}
	for _, m := range invalidCall.FindAllStringSubmatch(src, -1) {
		f[m[1]] = true
	}
	return f
}

// fieldNames are the subjects of the API's terse messages ("must be at
// least 12 characters") about a field; any other field is named by its
// words ("organisation_name" is "the organisation name").
var fieldNames = map[string]string{
	"email":                "the e-mail address",
	"owner_email":          "the owner's e-mail address",
	"slug":                 "the site name",
	"expires_in_days":      "the expiry",
	"scopes":               "the access",
	"confirm_password":     "the confirmation",
	"password_confirm":     "the confirmation",
	"new_password_confirm": "the confirmation",
}

// terse are the beginnings of a message that needs its subject.
var terse = []string{"is ", "are ", "must ", "may ", "cannot ", "can't ", "should ", "has ", "needs "}

// Sentence makes an API message about field a sentence on its own: "must
// be at least 12 characters (it has 5)" about "password" becomes "The
// password must be at least 12 characters (it has 5)."; any message gets a
// capital letter and a full stop.
func Sentence(field, msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return ""
	}
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		field = field[i+1:]
	}
	if field != "" {
		for _, t := range terse {
			if strings.HasPrefix(msg, t) {
				name, ok := fieldNames[field]
				if !ok {
					name = "the " + strings.ReplaceAll(field, "_", " ")
				}
				msg = name + " " + msg
				break
			}
		}
	}
	r, n := utf8.DecodeRuneInString(msg)
	msg = string(unicode.ToUpper(r)) + msg[n:]
	if !strings.ContainsRune(".!?", rune(msg[len(msg)-1])) {
		msg += "."
	}
	return msg
}

func init() { funcs["textFile"] = textFile }

// textFile is a data: URL of lines as a plain-text file, for a download
// link of what a page shows only once (recovery codes): nothing is stored
// to serve it later.
func textFile(lines []string) template.URL {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	return template.URL("data:text/plain;charset=utf-8," + url.PathEscape(b.String())) // #nosec G203 -- every byte of the text is percent-escaped; the scheme is fixed
}
