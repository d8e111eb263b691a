// SPDX-License-Identifier: LGPL-2.1-or-later
#include "common/guard.h"

#include "hesp/error.h"

namespace hesp::gst {

void post_current_exception(GstElement* element, const char* what_failed, const char* file,
                            const char* function, int line) {
  GQuark domain = GST_STREAM_ERROR;
  gint code = GST_STREAM_ERROR_FAILED;
  std::string text;
  try {
    throw;
  } catch (const FileNotFoundError& e) {
    domain = GST_RESOURCE_ERROR;
    code = GST_RESOURCE_ERROR_NOT_FOUND;
    text = describe(e);
  } catch (const CorruptFileError& e) {
    domain = GST_RESOURCE_ERROR;
    code = GST_RESOURCE_ERROR_OPEN_READ;
    text = describe(e);
  } catch (const SettingsError& e) {
    domain = GST_LIBRARY_ERROR;
    code = GST_LIBRARY_ERROR_SETTINGS;
    text = describe(e);
  } catch (const std::bad_alloc&) {
    domain = GST_CORE_ERROR;
    code = GST_CORE_ERROR_FAILED;
    text = "out of memory";
  } catch (const std::exception& e) {
    text = describe(e);
  } catch (...) {
    text = "unknown error";
  }
  const std::string message = std::string(what_failed) + ": " + text;
  gst_element_message_full(element, GST_MESSAGE_ERROR, domain, code, g_strdup(message.c_str()),
                           g_strdup(message.c_str()), file, function, line);
}

}  // namespace hesp::gst
