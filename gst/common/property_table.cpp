// SPDX-License-Identifier: LGPL-2.1-or-later
#include "common/property_table.h"

namespace hesp::gst::detail {

GQuark property_table_quark() {
  static const GQuark quark = g_quark_from_static_string("hesp-property-table");
  return quark;
}

}  // namespace hesp::gst::detail
