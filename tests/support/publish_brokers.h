// SPDX-License-Identifier: LGPL-2.1-or-later
// Real message brokers on the loopback interface for the hespmetapublish tests: a mosquitto
// process the test starts (and restarts) on a free port with a configuration it writes, an MQTT
// subscriber with a persistent session, and free-port and scratch-folder helpers. Every wait has
// a timeout, and the broker is killed when its object goes.
#pragma once

#include <arpa/inet.h>
#include <glib.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace hesp::test {

// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's choice).
inline int free_tcp_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("no free TCP port");
  close(fd);
  return ntohs(addr.sin_port);
}

inline bool port_accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// Polls `done` every 20 ms until it holds or `timeout` passes; returns whether it held.
inline bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// A scratch folder removed (with its files) at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    gchar* dir = g_dir_make_tmp("hesp-publish-XXXXXX", nullptr);
    if (!dir) throw std::runtime_error("cannot make a temporary folder");
    path_ = dir;
    g_free(dir);
  }
  ~ScratchDir() {
    const std::string cmd = "rm -rf '" + path_ + "'";
    if (std::system(cmd.c_str()) != 0) g_printerr("could not remove %s\n", path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string user_name() {
  const passwd* pw = getpwuid(getuid());
  return pw ? pw->pw_name : "root";
}

// mosquitto on 127.0.0.1:port. With persistence, what it holds for subscribers (their sessions
// and queued QoS 1/2 messages) is saved when it is stopped and loaded when it starts again.
class MosquittoBroker {
 public:
  MosquittoBroker(const std::string& dir, bool allow_anonymous = true)
      : port_(free_tcp_port()), conf_(dir + "/mosquitto.conf") {
    std::ofstream conf(conf_);
    conf << "listener " << port_ << " 127.0.0.1\n"
         << "allow_anonymous " << (allow_anonymous ? "true" : "false")
         << "\n"
         // Run as root, mosquitto would switch to the "mosquitto" user, which may not write the
         // test's folder; it stays the user that runs the test.
         << "user " << user_name() << "\n"
         << "persistence true\n"
         << "persistence_location " << dir << "/\n"
         << "log_dest stderr\nlog_type error\nlog_type warning\n";
  }
  ~MosquittoBroker() { stop(); }

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Starts the broker and waits (5 s at most) until it accepts connections.
  void start() {
    pid_ = fork();
    if (pid_ == 0) {
      execlp("mosquitto", "mosquitto", "-c", conf_.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    if (pid_ < 0) throw std::runtime_error("cannot fork mosquitto");
    if (!wait_until([&] { return port_accepts(port_); }, std::chrono::seconds(5)))
      throw std::runtime_error("mosquitto did not start listening on " + address());
  }

  // SIGTERM (the broker saves its persistent state), SIGKILL after 5 s.
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    const bool ended = wait_until([&] { return waitpid(pid_, &status, WNOHANG) == pid_; },
                                  std::chrono::seconds(5));
    if (!ended) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

 private:
  int port_;
  std::string conf_;
  pid_t pid_ = -1;
};

// A subscriber with a persistent session (clean session off) at QoS 1: the broker keeps what is
// published for it while it is disconnected, and libmosquitto's network thread reconnects it.
class MqttSubscriber {
 public:
  MqttSubscriber(int port, const std::string& topic, const std::string& client_id) : topic_(topic) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new(client_id.c_str(), false, this);
    mosquitto_reconnect_delay_set(mosq_, 1, 1, false);
    mosquitto_connect_callback_set(mosq_, [](struct mosquitto* m, void* self, int rc) {
      if (rc == 0)
        mosquitto_subscribe(m, nullptr, static_cast<MqttSubscriber*>(self)->topic_.c_str(), 1);
    });
    mosquitto_message_callback_set(
        mosq_, [](struct mosquitto*, void* p, const struct mosquitto_message* msg) {
          auto* self = static_cast<MqttSubscriber*>(p);
          std::lock_guard<std::mutex> lock(self->mutex_);
          self->messages_.emplace_back(static_cast<const char*>(msg->payload), msg->payloadlen);
        });
    mosquitto_subscribe_callback_set(mosq_, [](struct mosquitto*, void* p, int, int, const int*) {
      static_cast<MqttSubscriber*>(p)->subscribed_ = true;
    });
    if (mosquitto_connect(mosq_, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(mosq_) != MOSQ_ERR_SUCCESS)
      throw std::runtime_error("the test subscriber cannot connect");
    if (!wait_until([&] { return subscribed_.load(); }, std::chrono::seconds(5)))
      throw std::runtime_error("the test subscriber was not subscribed in 5 s");
  }
  ~MqttSubscriber() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, true);
    mosquitto_destroy(mosq_);
    mosquitto_lib_cleanup();
  }

  std::vector<std::string> messages() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_;
  }
  std::size_t count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_.size();
  }

 private:
  std::string topic_;
  struct mosquitto* mosq_ = nullptr;
  mutable std::mutex mutex_;
  std::vector<std::string> messages_;
  std::atomic<bool> subscribed_{false};
};

}  // namespace hesp::test
