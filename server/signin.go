package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/bugflow/bugflow/auth"
	"github.com/bugflow/bugflow/errs"
)

// limiters are the per-client-IP rate limits of the sign-in flows. Per-email
// limits (one code a minute, five tries a code) live in auth.Service.
type limiters struct {
	otpRequest *RateLimiter // POST /verify_email_and_generate_otp
	signIn     *RateLimiter // POST /signin, /login, /api/auth/login
	register   *RateLimiter // POST /register
	analyze    *RateLimiter // POST /analyze-failures (CPU-heavy, unauthenticated)
	trackers   *RateLimiter // POST /api/jira-projects, jira-security-levels, validate-token
}

// Sign-in rate limits per client IP: a burst, then one more per interval.
// Five codes a minute covers a person with a few mailboxes; ten sign-in
// tries, then one every 6 s, bounds an address to 600 guesses an hour
// across every account, on top of each code's five tries.
func newLimiters() limiters {
	return limiters{
		otpRequest: NewRateLimiter(12*time.Second, 5),
		signIn:     NewRateLimiter(6*time.Second, 10),
		register:   NewRateLimiter(12*time.Second, 5),
		analyze:    NewRateLimiter(time.Second, 30),
		// Each tracker helper call is a call to GitHub or Jira on someone
		// else's behalf; an address gets a burst, then one a second.
		trackers: NewRateLimiter(time.Second, 30),
	}
}

func (s *Server) requestOTP(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	wait, err := s.engine.Auth.RequestOTP(r.Context(), body.Email)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, map[string]int{"wait_duration_seconds": int(wait.Seconds())})
}

// otpValue accepts the code as a JSON string (as documented) or a number,
// which some clients send for an all-digit value.
type otpValue string

func (o *otpValue) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*o = otpValue(n.String())
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return errs.InvalidField("otp", "must be a string of digits")
	}
	*o = otpValue(str)
	return nil
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Email string   `json:"email"`
		OTP   otpValue `json:"otp"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if body.OTP == "" {
		return errs.InvalidField("otp", "is required")
	}
	in, err := s.engine.Auth.SignInWithOTP(r.Context(), body.Email, string(body.OTP))
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, map[string]string{"session_id": in.Token})
}

func (s *Server) verifySession(w http.ResponseWriter, r *http.Request) error {
	sessionID, err := decodeIDField(r, "session_id")
	if err != nil {
		return err
	}
	valid, exp, err := s.engine.Auth.VerifySession(r.Context(), sessionID)
	if err != nil {
		return err
	}
	var expSeconds int64
	if valid {
		expSeconds = exp.Unix()
	}
	return reply(w, r, http.StatusOK, map[string]any{"is_valid": valid, "expires_at_in_seconds_since_epoch": expSeconds})
}

// userBody is seeds/003's user object.
type userBody struct {
	UserID   string `json:"user_id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	Lastname string `json:"lastname"`
	Email    string `json:"email,omitempty"`
}

func newUserBody(u auth.User) userBody {
	return userBody{UserID: u.ID, Username: u.Username, Name: u.Name, Lastname: u.Lastname, Email: u.Email}
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Name     string `json:"name"`
		Lastname string `json:"lastname"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	u, err := s.engine.Auth.Register(r.Context(), auth.Registration{
		Username: strings.TrimSpace(body.Username), Password: body.Password, Name: body.Name, Lastname: body.Lastname,
	})
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, newUserBody(u))
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	var missing *errs.Error
	for field, v := range map[string]string{"username": body.Username, "password": body.Password} {
		if v == "" {
			if missing == nil {
				missing = errs.Invalidf("username and password are required")
			}
			missing = missing.WithField(field, "field required")
		}
	}
	if missing != nil {
		return missing
	}
	in, err := s.engine.Auth.Login(r.Context(), body.Username, body.Password)
	if err != nil {
		return err
	}
	return reply(w, r, http.StatusOK, map[string]any{"token": in.Token, "user": newUserBody(in.User)})
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	return reply(w, r, http.StatusOK, newUserBody(identityFrom(r.Context()).User))
}
