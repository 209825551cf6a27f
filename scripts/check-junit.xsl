<?xml version="1.0" encoding="UTF-8"?>
<!-- SPDX-License-Identifier: MIT -->
<!-- check-junit.xsl: Check's XML log (CK_XML_LOG_FILE_NAME) as JUnit XML.

     Check writes its own format (namespace http://check.sourceforge.net/ns):
     a <suite> per suite, a <test> per test run with result="success",
     "failure" or "error", its test case (<description>), its function
     (<id>), its file and line (<path>, <fn>), its duration in seconds (-1
     when Check did not time it) and its message. CI dashboards read JUnit
     instead: this stylesheet maps each <suite> to a <testsuite> and each
     <test> to a <testcase> (classname SUITE.TCASE, name the test function,
     with " (iteration N)" for the runs of a loop test after the first), a
     failure to <failure> and an error (a crash, a timeout, an early exit)
     to <error>, with Check's message as both the message and the text. The
     counts in the attributes are those of the cases written.

       xsltproc -o junit.xml STYLESHEET check.xml

     STYLESHEET is installed as share/leakcheck/check-junit.xsl, and
     pkg-config's variable check_junit of leakcheck names it (docs/ci.md). -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:c="http://check.sourceforge.net/ns" exclude-result-prefixes="c">
  <xsl:output method="xml" encoding="UTF-8" indent="yes"/>

  <!-- A duration Check did not measure (-1) counts as 0. -->
  <xsl:template name="seconds">
    <xsl:param name="tests"/>
    <xsl:value-of select="format-number(sum($tests/c:duration[number(.) &gt; 0]), '0.000')"/>
  </xsl:template>

  <xsl:template match="/c:testsuites">
    <testsuites name="Check" tests="{count(c:suite/c:test)}"
                failures="{count(c:suite/c:test[@result = 'failure'])}"
                errors="{count(c:suite/c:test[@result = 'error'])}">
      <xsl:attribute name="time">
        <xsl:call-template name="seconds">
          <xsl:with-param name="tests" select="c:suite/c:test"/>
        </xsl:call-template>
      </xsl:attribute>
      <xsl:apply-templates select="c:suite"/>
    </testsuites>
  </xsl:template>

  <xsl:template match="c:suite">
    <testsuite name="{c:title}" tests="{count(c:test)}"
               failures="{count(c:test[@result = 'failure'])}"
               errors="{count(c:test[@result = 'error'])}" skipped="0">
      <xsl:attribute name="time">
        <xsl:call-template name="seconds">
          <xsl:with-param name="tests" select="c:test"/>
        </xsl:call-template>
      </xsl:attribute>
      <xsl:attribute name="timestamp">
        <xsl:value-of select="translate(../c:datetime, ' ', 'T')"/>
      </xsl:attribute>
      <xsl:apply-templates select="c:test"/>
    </testsuite>
  </xsl:template>

  <xsl:template match="c:test">
    <xsl:variable name="suite" select="../c:title"/>
    <xsl:variable name="file" select="substring-before(c:fn, ':')"/>
    <testcase classname="{$suite}.{c:description}">
      <xsl:attribute name="name">
        <xsl:value-of select="c:id"/>
        <xsl:if test="number(c:iteration) &gt; 0">
          <xsl:value-of select="concat(' (iteration ', c:iteration, ')')"/>
        </xsl:if>
      </xsl:attribute>
      <xsl:attribute name="time">
        <xsl:choose>
          <xsl:when test="number(c:duration) &gt; 0">
            <xsl:value-of select="format-number(number(c:duration), '0.000000')"/>
          </xsl:when>
          <xsl:otherwise>0</xsl:otherwise>
        </xsl:choose>
      </xsl:attribute>
      <xsl:if test="$file != ''">
        <xsl:attribute name="file">
          <xsl:value-of select="concat(c:path, '/', $file)"/>
        </xsl:attribute>
        <xsl:attribute name="line">
          <xsl:value-of select="substring-after(c:fn, ':')"/>
        </xsl:attribute>
      </xsl:if>
      <xsl:if test="@result = 'failure' or @result = 'error'">
        <xsl:element name="{@result}">
          <xsl:attribute name="message">
            <xsl:value-of select="c:message"/>
          </xsl:attribute>
          <xsl:attribute name="type">
            <xsl:value-of select="@result"/>
          </xsl:attribute>
          <xsl:value-of select="concat(c:path, '/', c:fn, ': ', c:message)"/>
        </xsl:element>
      </xsl:if>
    </testcase>
  </xsl:template>
</xsl:stylesheet>
