package dev.baton.http;

/**
 * Why a request head was rejected by {@link RequestParser}. A rejected request is a result, not an
 * exception: the caller serves it locally and lets the server answer 400 (or 414/431).
 */
public enum Invalid {
    /** The head did not fit in {@code maxHeadBytes} (server answers 431, RFC 6585 §5). */
    TOO_LARGE,
    /** The request-target alone made the head exceed {@code maxHeadBytes} (server answers 414, RFC 9110 §15.5.15). */
    TARGET_TOO_LONG,
    /** More than {@code maxHeaders} header fields (431). */
    TOO_MANY_HEADERS,
    /** Request line is not {@code method SP request-target SP HTTP-version} (RFC 9112 §3). */
    BAD_REQUEST_LINE,
    /** Method is not a token of tchar (RFC 9110 §9.1, §5.6.2). */
    BAD_METHOD,
    /** Request-target has a forbidden byte or a form the method does not allow (RFC 9112 §3.2). */
    BAD_TARGET,
    /** Version other than HTTP/1.0 or HTTP/1.1 (RFC 9112 §2.3). */
    BAD_VERSION,
    /** Field name not a token, empty, or field value with a control character (RFC 9110 §5.1, §5.5). */
    BAD_HEADER,
    /** Whitespace between field name and colon (RFC 9112 §5.1: MUST reject with 400). */
    SPACE_BEFORE_COLON,
    /** Line folding, or a whitespace-led line right after the request line (RFC 9112 §5.2, §2.2). */
    OBS_FOLD,
    /** A CR not followed by LF (RFC 9112 §2.2). */
    BARE_CR,
    /** A NUL byte anywhere in the head (RFC 9110 §5.5). */
    NUL_BYTE,
    /** More than one Host header field (RFC 9112 §3.2: MUST respond 400). */
    DUPLICATE_HOST,
    /** Content-Length not a non-negative decimal, or several differing values (RFC 9112 §6.3). */
    BAD_CONTENT_LENGTH,
    /**
     * Transfer-Encoding whose final coding is not chunked, or sent together with Content-Length
     * (RFC 9112 §6.1, §6.3: a request-smuggling vector, rejected outright).
     */
    BAD_TRANSFER_ENCODING
}
