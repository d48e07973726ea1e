# Loads the generated Homebrew formula against stub DSL methods and checks it against the release.
# Usage: ruby formula_test.rb FORMULA SHA256SUMS VERSION HOST_ASSET
# HOST_ASSET (e.g. kache-linux-x64, in SHA256SUMS's dir) is installed by the stub and run by `test do`.
require "fileutils"
require "open3"
require "pathname"
require "tmpdir"

formula_path, sums_path, expected_version, host_asset = ARGV
abort "usage: ruby formula_test.rb FORMULA SHA256SUMS VERSION HOST_ASSET" unless host_asset

# Records what `bin.install` is given.
class StubBin
  attr_reader :installed

  def initialize(dir)
    @dir = dir
    @installed = {}
  end

  def to_s = @dir.to_s

  def install(mapping)
    mapping.each do |source, target|
      @installed[source] = target
      FileUtils.cp(File.join(SOURCE_DIR, source), File.join(@dir, target))
    end
  end
end

# Records what the `service do` block sets; opt_bin and var as Homebrew's service DSL gives them.
class StubService
  attr_reader :settings

  def initialize = @settings = {}
  def opt_bin = Pathname("/opt/homebrew/opt/kache/bin")
  def var = Pathname("/opt/homebrew/var")
  %i[run keep_alive log_path error_log_path].each { |name| define_method(name) { |value| @settings[name] = value } }
end

# The class methods Homebrew's Formula DSL offers, each recording its argument per platform block.
class Formula
  class << self
    attr_reader :facts, :platforms, :service_settings, :test_block

    def record(name, value) = (@facts ||= {})[name] = value
    %i[desc homepage license].each { |name| define_method(name) { |value| record(name, value) } }
    def version(value = nil) = value ? record(:version, value) : @facts[:version]
    def url(value) = current_platform[:url] = value
    def sha256(value) = current_platform[:sha256] = value
    def on_macos(&) = within(:os, "darwin", &)
    def on_linux(&) = within(:os, "linux", &)
    def on_arm(&) = within(:cpu, "arm64", &)
    def on_intel(&) = within(:cpu, "x64", &)
    def test(&block) = @test_block = block
    def service(&block) = (@service_settings = StubService.new.tap { |s| s.instance_exec(&block) }.settings)

    def current_platform
      key = "#{@context[:os]}-#{@context[:cpu]}"
      ((@platforms ||= {})[key] ||= {})
    end

    # Yields every branch (Homebrew yields only the host's) so that each platform's settings are seen.
    def within(axis, value)
      (@context ||= {})[axis] = value
      yield
      install_of_current_platform if axis == :cpu
    ensure
      @context.delete(axis)
    end

    # Each platform block defines its own `install`; run it now, before the next block redefines it.
    def install_of_current_platform
      return unless method_defined?(:install, false)

      current_platform[:install] = Dir.mktmpdir do |dir|
        instance = allocate
        instance.instance_variable_set(:@bin, StubBin.new(dir))
        instance.install
        instance.bin.installed
      end
      remove_method(:install)
    end
  end

  attr_reader :bin

  def version = self.class.version
  def assert_equal(expected, actual) = (expected == actual) || raise("test do: expected #{expected.inspect}, got #{actual.inspect}")

  def shell_output(command)
    output, status = Open3.capture2(command)
    raise "test do: `#{command}` exited #{status.exitstatus}" unless status.success?
    output
  end
end

SOURCE_DIR = File.dirname(sums_path)
failures = []
check = ->(ok, message) { failures << message unless ok }

load formula_path
kache = Object.const_get(:Kache)
check.(kache.superclass == Formula, "class Kache < Formula")
check.(kache.version == expected_version, "version #{kache.version.inspect} is not #{expected_version}")
check.(kache.facts[:desc].to_s.length.between?(1, 80), "desc missing or over 80 characters")
check.(kache.facts[:homepage].to_s.start_with?("https://"), "homepage is not https")

sums = File.readlines(sums_path, chomp: true).to_h { |line| line.split("  ").reverse }
check.(kache.platforms.keys.sort == %w[darwin-arm64 darwin-x64 linux-arm64 linux-x64], "platforms: #{kache.platforms.keys}")
kache.platforms.each do |platform, got|
  asset = "kache-#{platform}"
  check.(got[:url]&.end_with?("/v#{expected_version}/#{asset}"), "#{platform}: url #{got[:url]}")
  check.(got[:sha256] == sums.fetch(asset), "#{platform}: sha256 #{got[:sha256]} is not SHA256SUMS's")
  check.(got[:install] == { asset => "kache" }, "#{platform}: bin.install #{got[:install].inspect}")
end

service = kache.service_settings || {}
check.(service[:run]&.map(&:to_s) == ["/opt/homebrew/opt/kache/bin/kache", "daemon", "run"], "service run: #{service[:run]}")
check.(service[:keep_alive] == { crashed: true }, "service keep_alive: #{service[:keep_alive]}")
%i[log_path error_log_path].each do |name|
  check.(service[name].to_s.start_with?("/opt/homebrew/var/log/"), "service #{name}: #{service[name]}")
end

# `test do` as `brew test` runs it, against the host's binary installed under the name kache.
Dir.mktmpdir do |dir|
  instance = kache.allocate
  instance.instance_variable_set(:@bin, StubBin.new(dir))
  instance.bin.install(host_asset => "kache")
  instance.instance_exec(&kache.test_block)
rescue StandardError => e
  failures << e.message
end

abort "formula_test: #{failures.size} failed:\n  #{failures.join("\n  ")}" unless failures.empty?
puts "formula_test: ok (4 platforms, service, test do)"
