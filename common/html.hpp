// HTML escaping: the one function every catalogue string passes through on its way into a page.
#pragma once

#include <string>
#include <string_view>

namespace sharelink {

// Appends text to out so that it reads back as the same characters both in
// element content and inside a double- or single-quoted attribute value:
// & < > " ' become &amp; &lt; &gt; &quot; &#39;. Bytes that start no
// well-formed UTF-8 sequence, NUL and the other control characters (C0 but
// tab and line feed, DEL, and the C1 range U+0080..U+009F) become U+FFFD, so
// a stored title can never make the page invalid or carry markup. Thread-safe.
void append_html_escaped(std::string& out, std::string_view text);

// The same, as a new string.
std::string html_escape(std::string_view text);

}  // namespace sharelink
