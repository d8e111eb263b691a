// SPDX-License-Identifier: LGPL-2.1-or-later
#include "common/element_message.h"

namespace hesp::gst {

void post_element_message(GstElement* element, GstStructure* structure) {
  gst_element_post_message(element, gst_message_new_element(GST_OBJECT(element), structure));
}

}  // namespace hesp::gst
