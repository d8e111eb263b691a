// SPDX-License-Identifier: LGPL-2.1-or-later
// Element messages: how hesp elements tell an application what happened (a frame's JSON, a label
// change, a shot cut, the counters at end of stream) on the bus.
#pragma once

#include <gst/gst.h>

namespace hesp::gst {

// Posts `structure` (taken) as an element message from `element`. Call it without the element's
// state lock: sync bus handlers run in the posting thread and may read the element's properties.
void post_element_message(GstElement* element, GstStructure* structure);

}  // namespace hesp::gst
